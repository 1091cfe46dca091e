from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    verbose_name = "Image models and AI reports"

    def ready(self) -> None:
        # Here, not at the top: these import models, which load after the app configs.
        from inference.followups import HANDLER
        from inference.receivers import rescore_curation_queue
        from inference.signals import inference_job_done
        from inference.study_panel import PANEL
        from radbot_web.tasks import register_reaper
        from studies import panels
        from studies.services.followups import register_followup

        panels.register(PANEL)
        register_followup(HANDLER)
        register_reaper("jobs", "inference.services.jobs.reap_stale_jobs")
        inference_job_done.connect(
            rescore_curation_queue, dispatch_uid="labeling.model_disagreement"
        )
