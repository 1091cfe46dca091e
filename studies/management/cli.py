"""What the command-line tools share: they run with admin rights (they may name studies
by their original UIDs and print them), and what they import or export is recorded in
the access log under the CLI actor."""

from __future__ import annotations

import getpass
from typing import Any

from audit.services import record_access

CLI_ACTOR = "cli"


def cli_actor() -> str:
    """``cli:<login name>``, or ``cli`` where the process has no login name (containers)."""
    try:
        return f"{CLI_ACTOR}:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - getuser raises several kinds of error
        return CLI_ACTOR


def audit_cli(
    *,
    action: str,
    command: str,
    object_ref: str = "",
    study_uid: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    record_access(
        action=action,
        username=cli_actor(),
        object_ref=object_ref[:200],
        study_uid=study_uid,
        detail={"command": command, **(detail or {})},
    )


def study_option(uid: str | None):
    """The study a ``--study`` option names (stored or original UID), or None."""
    # Here, so that this module stays a leaf the ingest and report services can import.
    from studies.selectors import study_by_any_uid

    return study_by_any_uid(uid) if uid else None
