"""How ingest commands report a batch: a reason per rejected file, then the totals."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from studies.services.ingest import IngestSummary


def write_summary(command: BaseCommand, summary: IngestSummary) -> None:
    """Print rejections and totals; fail the command when nothing at all could be ingested."""
    for outcome in summary.rejected:
        command.stderr.write(f"rejected   {outcome.name}: {outcome.detail} [{outcome.code}]")
    studies = len(summary.studies)
    command.stdout.write(
        f"{len(summary.stored)} stored, {len(summary.duplicates)} duplicate, "
        f"{len(summary.rejected)} rejected, {studies} stud{'y' if studies == 1 else 'ies'}."
    )
    if summary.rejected and not summary.stored and not summary.duplicates:
        raise CommandError("nothing could be ingested")
