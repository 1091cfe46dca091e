"""What open but idle DICOM associations cost the listener: CPU, as a share of one core.

Usage: .venv/bin/python bench/listener_idle.py [--associations 4] [--seconds 5]

Starts the listener's DICOM server (``studies.receiver.ae.start``, in this process, on a
free port; no database is touched: nothing is sent but C-ECHO), opens --associations
associations to it from another process (pynetdicom, so that the senders' own polling is
not counted here), leaves them idle for --seconds, and prints this process's CPU over that
time. Then a C-ECHO on each and their release, timed: waiting instead of polling must not
make the associations slow to answer or to end (``studies/receiver/reactors.py``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_SENDER = """
import sys, time
from pynetdicom import AE
from pynetdicom.sop_class import Verification
port, count, idle = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
ae = AE(ae_title="BENCH")
ae.add_requested_context(Verification)
associations = [ae.associate("127.0.0.1", port, ae_title="RADBOT") for _ in range(count)]
assert all(a.is_established for a in associations), "an association was refused"
print("open", flush=True)
time.sleep(idle)
start = time.perf_counter()
assert all(a.send_c_echo().Status == 0 for a in associations)
echo = time.perf_counter() - start
start = time.perf_counter()
for a in associations:
    a.release()
print(f"{echo * 1000 / count:.1f} {(time.perf_counter() - start) * 1000 / count:.1f}", flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--associations", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radbot_web.settings")
    os.environ.setdefault("RADBOT_DEMO", "1")  # built-in keys (README, Configuration)

    import django  # here: the environment above must be set before Django reads its settings

    django.setup()
    from bench.listener import free_port
    from bench.machine import describe
    from studies.receiver import ae

    port = free_port()
    with tempfile.TemporaryDirectory() as spool:
        server = ae.start(
            ae_title="RADBOT",
            allowed_aes=["BENCH"],
            bind="127.0.0.1",
            port=port,
            spool_root=Path(spool),
        )
        try:
            sender = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _SENDER,
                    str(port),
                    str(args.associations),
                    str(args.seconds + 2),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert sender.stdout is not None
            if sender.stdout.readline().strip() != "open":
                sys.exit("the associations could not be opened")
            time.sleep(1)  # past the negotiation
            cpu0, wall0 = time.process_time(), time.perf_counter()
            time.sleep(args.seconds)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            echo_ms, release_ms = sender.stdout.readline().split()
            if sender.wait(timeout=60) != 0:
                sys.exit("the sender failed")
        finally:
            server.shutdown()
    print(
        f"{args.associations} idle associations: listener CPU {cpu / wall:.1%} of one core "
        f"({cpu / wall / args.associations:.1%} each)"
    )
    print(f"then C-ECHO {echo_ms} ms and release {release_ms} ms per association")
    print(f"machine: {describe()}")


if __name__ == "__main__":
    main()
