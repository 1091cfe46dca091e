"""AI report text from predicted labels, in the RadBot paper's style. Pure Python, no Django."""

from reports.generation.writer import (
    BestImage,
    GeneratedReport,
    LevelFinding,
    generate_report,
    impression_text,
    level_sentence,
    not_assessed_sentence,
)

__all__ = [
    "BestImage",
    "GeneratedReport",
    "LevelFinding",
    "generate_report",
    "impression_text",
    "level_sentence",
    "not_assessed_sentence",
]
