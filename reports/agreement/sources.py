"""The dashboard's sources: groups of tables whose writes database triggers count
(reports/migrations/_sources.py names the same groups), so that each part of the
dashboard can be kept until one of its own sources changes (cache.py)."""

PREDICTIONS = "predictions"  # predictions and job states
NLP_LABELS = "nlp_labels"
ANNOTATIONS = "annotations"
REPORTS = "reports"  # radiologist reports: which study a label belongs to
MODELS = "models"
REPORT_VERSIONS = "report_versions"
SOURCES: tuple[str, ...] = (PREDICTIONS, NLP_LABELS, ANNOTATIONS, REPORTS, MODELS, REPORT_VERSIONS)
