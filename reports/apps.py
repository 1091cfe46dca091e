from django.apps import AppConfig


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"
    verbose_name = "AI reports, sign-off and agreement"

    def ready(self) -> None:
        # Here, not at the top: the receivers and checks import models, which load after
        # the app configs.
        from django.core import checks
        from django.db.backends.signals import connection_created

        from inference.signals import inference_job_done, inference_job_refused
        from reports.checks import dashboard_source_triggers_present, immutability_triggers_present
        from reports.migrations._triggers import register_sqlite_function
        from reports.receivers import draft_report_when_job_done

        inference_job_done.connect(
            draft_report_when_job_done, dispatch_uid="reports.draft_report_when_job_done"
        )
        # A refused study gets a draft too: it says why the AI named no level.
        inference_job_refused.connect(
            draft_report_when_job_done, dispatch_uid="reports.draft_report_when_job_refused"
        )
        # The SQLite DELETE triggers call radbot_flushing(); every connection needs it.
        connection_created.connect(register_sqlite_function, dispatch_uid="reports.sqlite_flushing")
        checks.register(immutability_triggers_present)
        checks.register(dashboard_source_triggers_present)
