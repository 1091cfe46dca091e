"""Structural guards on what a process imports at start-up (issue #13), each in a fresh
interpreter: the web's URL conf (and every view module it imports) loads none of the
libraries that take seconds to import. No timing here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SLOW_TO_IMPORT = ("torch", "spacy", "thinc", "statsmodels")


def _fresh_python(code: str) -> dict:
    env = {**os.environ, "RADBOT_DEMO": "1", "DJANGO_SETTINGS_MODULE": "radbot_web.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_url_conf_imports_no_slow_library():
    loaded = _fresh_python(
        "import json, sys, django\n"
        "django.setup()\n"
        "import radbot_web.urls\n"
        f"print(json.dumps([m for m in {SLOW_TO_IMPORT!r} if m in sys.modules]))\n"
    )
    assert loaded == [], f"the URL conf (or what it imports) loads {loaded}: import them where they are used"

