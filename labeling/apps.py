from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"
    verbose_name = "Labels"

    def ready(self) -> None:
        # Here, not at the top: the receiver imports models, which load after the app configs.
        from inference.signals import inference_job_done
        from labeling.receivers import on_inference_job_done

        inference_job_done.connect(on_inference_job_done, dispatch_uid="labeling.model_disagreement")
