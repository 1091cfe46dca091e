"""The audit log's one write: who did what to which report."""

from __future__ import annotations

from typing import Any

from reports.models import AuditEvent, Report, ReportVersion


def record_audit_event(
    *,
    report: Report,
    user: Any,
    action: str,
    version: ReportVersion | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Anonymous users are stored as no user (machine actions)."""
    return AuditEvent.objects.create(
        report=report,
        version=version,
        user=user if getattr(user, "is_authenticated", False) else None,
        action=action,
        detail=detail or {},
    )
