from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"
    verbose_name = "Labels"

    def ready(self) -> None:
        # Here, not at the top: the panel imports models, which load after the app configs.
        from labeling.study_panel import PANEL
        from radbot_web.tasks import register_reaper
        from studies import panels

        panels.register(PANEL)
        register_reaper("runs", "labeling.services.reap_stale_runs")
