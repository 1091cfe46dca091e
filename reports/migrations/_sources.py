"""The triggers that count writes to the agreement dashboard's source tables.

The dashboard keeps its numbers while their tables are unchanged (reports/agreement/
cache.py). It used to tell by row counts, and COUNT(*) over half a million predictions
costs more than the cached page saves. Now every statement that writes a source's
tables adds one to a counter of that source, in the writing transaction, so the change
becomes visible with the rows it describes; the cache reads the counters' sums in one
small query.

The counters are kept per database session (``backend``: PostgreSQL's backend pid), so
two transactions never wait on, or deadlock over, the same counter row: each session
only ever bumps its own. SQLite has one writer at a time and uses backend 0.

On SQLite, triggers are per row, and Django drops a table's triggers when it rebuilds
the table, so ``SQLITE_ALL`` is idempotent for a later migration to run again; the
system check ``reports.checks.dashboard_source_triggers_present`` names a missing one.
"""

from __future__ import annotations

from typing import Any

from spine.labels import FIELDS

COUNTER_TABLE = "reports_dashboardsourcecount"

# What the dashboard reads of a label row (labeling.models.NlpLabel).
NLP_LABEL_COLUMNS: tuple[str, ...] = (
    "report_id",
    "level_id",
    "labeller_id",
    *FIELDS,
    "confidence",
    "min_confidence",
    "evidence",
)

# Source -> the tables whose writes change it (the names reports/agreement/sources.py uses),
# and, per table, the columns whose UPDATE matters (None: every UPDATE).
SOURCE_TABLES: dict[str, dict[str, tuple[str, ...] | None]] = {
    "predictions": {
        "inference_prediction": None,
        # A job's progress is written every few seconds while it runs; only its status
        # (done, failed) changes which predictions count.
        "inference_inferencejob": ("status",),
    },
    "nlp_labels": {
        # Not report_needs_annotator: the curation queue's bookkeeping, written by every save.
        "labeling_nlplabel": NLP_LABEL_COLUMNS,
        "labeling_labellerversion": None,
    },
    "annotations": {"labeling_annotation": None},
    "reports": {"studies_radiologistreport": None},
    "models": {"inference_modelversion": None},
    "report_versions": {"reports_reportversion": None},
}

POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION reports_count_source_write() RETURNS trigger AS $$
BEGIN
    INSERT INTO {COUNTER_TABLE} (source, backend, writes)
    VALUES (TG_ARGV[0], pg_backend_pid(), 1)
    ON CONFLICT (source, backend)
    DO UPDATE SET writes = {COUNTER_TABLE}.writes + 1;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
"""


def expected_triggers(vendor: str) -> dict[str, str]:
    """Trigger name -> table on ``vendor`` (SQLite has one trigger per event)."""
    names = {}
    for tables in SOURCE_TABLES.values():
        for table, columns in tables.items():
            if vendor == "postgresql":
                names[f"reports_count_{table}"] = table
            else:
                names.update({_sqlite_name(table, event): table for event in _events(columns)})
    return names


def _events(columns: tuple[str, ...] | None) -> list[str]:
    update = "UPDATE" if columns is None else f"UPDATE OF {', '.join(columns)}"
    return ["INSERT", update, "DELETE"]


def postgres_sql() -> list[str]:
    statements = [POSTGRES_FUNCTION]
    for source, tables in SOURCE_TABLES.items():
        for table, columns in tables.items():
            name = f"reports_count_{table}"
            statements += [
                f"DROP TRIGGER IF EXISTS {name} ON {table}",
                f"CREATE TRIGGER {name} AFTER {' OR '.join(_events(columns))} ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION reports_count_source_write('{source}')",
            ]
    return statements


def _sqlite_name(table: str, event: str) -> str:
    suffix = event.split()[0].lower()
    return f"reports_count_{table}" if suffix == "insert" else f"reports_count_{table}_{suffix}"


def sqlite_sql() -> list[str]:
    bump = (
        f"INSERT INTO {COUNTER_TABLE} (source, backend, writes) VALUES ('{{source}}', 0, 1) "
        f"ON CONFLICT (source, backend) DO UPDATE SET writes = writes + 1"
    )
    statements = []
    for source, tables in SOURCE_TABLES.items():
        for table, columns in tables.items():
            for event in _events(columns):
                statements.append(
                    f"CREATE TRIGGER IF NOT EXISTS {_sqlite_name(table, event)} "
                    f"AFTER {event} ON {table} BEGIN {bump.format(source=source)}; END"
                )
    return statements


def create(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": postgres_sql, "sqlite": sqlite_sql}.get(vendor)
    if statements is None:
        raise RuntimeError(f"no dashboard source triggers for {vendor}")
    for sql in statements():
        schema_editor.execute(sql)


def recreate(tables: tuple[str, ...]) -> Any:
    """A migration step that drops these tables' counting triggers and creates them anew
    (SQLite's CREATE TRIGGER IF NOT EXISTS keeps an old definition)."""

    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "sqlite":
            for table in tables:
                for event in ("INSERT", "UPDATE", "DELETE"):
                    schema_editor.execute(f"DROP TRIGGER IF EXISTS {_sqlite_name(table, event)}")
        create(apps, schema_editor)

    return run


def drop(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    for source, tables in SOURCE_TABLES.items():
        for table, columns in tables.items():
            if vendor == "postgresql":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS reports_count_{table} ON {table}")
            else:
                for event in _events(columns):
                    schema_editor.execute(f"DROP TRIGGER IF EXISTS {_sqlite_name(table, event)}")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS reports_count_source_write()")
