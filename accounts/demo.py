"""Demo logins, one per role. Printed by `make demo`; never used in production."""

from accounts.roles import ADMIN, ANNOTATOR, RADIOLOGIST, RESEARCHER

DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("annotator", "demo-annotator-pw", ANNOTATOR),
    ("radiologist", "demo-radiologist-pw", RADIOLOGIST),
    ("researcher", "demo-researcher-pw", RESEARCHER),
    ("admin", "demo-admin-pw", ADMIN),
)
