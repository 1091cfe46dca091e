from django.apps import AppConfig


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"
    verbose_name = "AI reports, sign-off and agreement"

    def ready(self) -> None:
        from inference.signals import inference_job_done
        from reports.receivers import draft_report_when_job_done

        inference_job_done.connect(
            draft_report_when_job_done, dispatch_uid="reports.draft_report_when_job_done"
        )
