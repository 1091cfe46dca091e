"""The five disc levels each study is labelled at: what NLP labels, gold labels and predictions hang on."""

from django.db import models
from django.db.models import Q

from spine.labels import LEVELS
from studies.models.patients import Study


class DiscLevel(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="levels")
    level = models.CharField(max_length=5, choices=[(level, level) for level in LEVELS])

    class Meta:
        ordering = ["study", "level"]
        constraints = [
            models.UniqueConstraint(fields=["study", "level"], name="disc_level_once_per_study"),
            models.CheckConstraint(condition=Q(level__in=list(LEVELS)), name="disc_level_allowed"),
        ]

    def __str__(self) -> str:
        return f"{self.study} {self.level}"
