"""RadBot Web settings, read from the environment.

Embedded default (no variables set): SQLite under ``var/`` and Celery tasks run
in-process. Production: ``DATABASE_URL=postgres://…`` and
``CELERY_BROKER_URL=redis://…`` with workers started by
``celery -A radbot_web worker``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("RADBOT_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", default=False)
# The embedded demo and the test suite (`make demo`, `make test`, .ci/run, bench/) set
# RADBOT_DEMO=1: built-in keys, a per-process cache and plain-HTTP cookies are allowed
# there. Anything else with DEBUG off is production and must be configured (below).
RADBOT_DEMO = env_bool("RADBOT_DEMO", default=False)
PRODUCTION = not DEBUG and not RADBOT_DEMO
DEMO_SECRET_KEY = "radbot-insecure-demo-key-set-DJANGO_SECRET_KEY-in-production"  # noqa: S105 - demo mode only; production refuses to start without DJANGO_SECRET_KEY
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY or SECRET_KEY == DEMO_SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is unset (or the public demo key) and DEBUG is off. Set a long random "
            "DJANGO_SECRET_KEY, or RADBOT_DEMO=1 for the embedded demo only."
        )
    SECRET_KEY = DEMO_SECRET_KEY
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "accounts",
    "audit",
    "studies",
    "labeling",
    "inference",
    "reports",
    # Last: the project's own commands (demo_pipeline), which drive every app above.
    "radbot_web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "radbot_web.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "radbot_web.middleware.NoStoreMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "accounts.middleware.SessionActivityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "radbot_web.urls"
WSGI_APPLICATION = "radbot_web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.capabilities",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'radbot.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dev server read while a batch ingest writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif not env_bool("DATABASE_JIT", default=False):
    # The app runs short queries; PostgreSQL compiles one whose estimated cost is high
    # (the worklist over 35,600 studies) and spent 3.1 s of its 3.9 s doing so.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Permissions and roles per user come from the cache (accounts/access_cache.py).
AUTHENTICATION_BACKENDS = ["accounts.backends.CachedModelBackend"]
# Sessions are read from the cache and written through to the database.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "studies:list"
LOGOUT_REDIRECT_URL = "login"
# Failed logins per username and per client address before a lock-out.
LOGIN_THROTTLE_LIMIT = int(os.environ.get("RADBOT_LOGIN_THROTTLE_LIMIT", "5"))
LOGIN_THROTTLE_WINDOW_S = int(os.environ.get("RADBOT_LOGIN_THROTTLE_WINDOW_S", "900"))
# Reverse proxies in front of the app that append to X-Forwarded-For (radbot_web/network.py).
RADBOT_TRUSTED_PROXY_COUNT = int(os.environ.get("RADBOT_TRUSTED_PROXY_COUNT", "0"))

# The login throttle, sessions, permission sets and curation holds must be shared by every
# process: production needs Redis. ResilientRedisCache turns a Redis outage into cache
# misses and a logged warning instead of errors (radbot_web/cache.py).
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "radbot_web.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                # A Redis host that stops answering must not hold every request for long.
                "socket_connect_timeout": float(
                    os.environ.get("RADBOT_REDIS_CONNECT_TIMEOUT_S", "1")
                ),
                "socket_timeout": float(os.environ.get("RADBOT_REDIS_TIMEOUT_S", "2")),
            },
        }
    }
elif PRODUCTION:
    raise ImproperlyConfigured(
        "REDIS_URL is unset and DEBUG is off: the login throttle, sessions and permission caches "
        "would be per process. Set REDIS_URL=redis://host:6379/1."
    )
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- sessions, cookies and TLS -------------------------------------------------------------
# A session ends after RADBOT_SESSION_IDLE_S without a request (shared reading-room
# machines). accounts.middleware.SessionActivityMiddleware renews the expiry at most every
# RADBOT_SESSION_RENEW_S, so an active session lives on without a write per request.
SESSION_COOKIE_AGE = int(os.environ.get("RADBOT_SESSION_IDLE_S", str(8 * 3600)))
RADBOT_SESSION_RENEW_S = int(os.environ.get("RADBOT_SESSION_RENEW_S", "300"))
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
# Behind a TLS-terminating proxy Django sees plain HTTP: name the header the proxy sets
# (and that it strips from clients), e.g. RADBOT_PROXY_SSL_HEADER=X-Forwarded-Proto.
_proxy_ssl_header = os.environ.get("RADBOT_PROXY_SSL_HEADER", "").strip()
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = env_bool("RADBOT_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = int(
    os.environ.get("RADBOT_HSTS_SECONDS", str(365 * 24 * 3600 if PRODUCTION else 0))
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("RADBOT_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("RADBOT_HSTS_PRELOAD", default=PRODUCTION)
# API tokens (accounts.models.ApiToken) stop working this many days after issue.
RADBOT_API_TOKEN_DAYS = int(os.environ.get("RADBOT_API_TOKEN_DAYS", "30"))

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "frontend" / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_ROOT = Path(os.environ.get("RADBOT_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"

# Uploads: the API streams large files to disk; limits bound archives.
DATA_UPLOAD_MAX_NUMBER_FILES = 5000
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
RADBOT_UPLOAD_MAX_BYTES = int(os.environ.get("RADBOT_UPLOAD_MAX_BYTES", str(2 * 1024**3)))
RADBOT_ZIP_MAX_RATIO = float(os.environ.get("RADBOT_ZIP_MAX_RATIO", "200"))
RADBOT_ZIP_MAX_MEMBERS = int(os.environ.get("RADBOT_ZIP_MAX_MEMBERS", "20000"))
# DICOMweb's public root for the URLs its answers carry (RetrieveURL, BulkDataURI), e.g.
# https://radbot.example.org/dicomweb; empty: from each request's Host header.
RADBOT_DICOMWEB_URL = os.environ.get("RADBOT_DICOMWEB_URL", "").rstrip("/")
# Keyed hash for pseudonyms and date shifts; changing it re-keys every new patient.
# Its own key, never derived from SECRET_KEY: a leaked or rotated Django key must neither
# re-identify nor split patients. The demo's key is public, like its data.
RADBOT_DEID_SECRET = os.environ.get("RADBOT_DEID_SECRET", "")
if not RADBOT_DEID_SECRET:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "RADBOT_DEID_SECRET is unset and DEBUG is off: pseudonyms and date shifts need their own "
            "long random key (keep it secret and stable)."
        )
    RADBOT_DEID_SECRET = DEMO_SECRET_KEY

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header turns "not signed in" into 401, not 403.
        "accounts.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "radbot_web.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "RadBot Web API",
    "VERSION": "0.1.0",
    # One schema component per vocabulary (the labelling guide's, spine.labels, and the
    # statuses), whichever field of whichever app uses it.
    "ENUM_NAME_OVERRIDES": {
        "LevelEnum": "spine.labels.LEVELS",
        "DiscEnum": "spine.labels.DISC_VALUES",
        "GradeEnum": "spine.labels.GRADES",
        "GradeScaleEnum": "reports.stats.GRADE_SCALE",
        "InferenceJobStatusEnum": "inference.models.InferenceJob.Status",
        "ReportVersionStatusEnum": "reports.models.ReportVersion.Status",
    },
}

# Celery: no broker configured means the embedded mode, tasks run in-process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://localhost/")
CELERY_TASK_ALWAYS_EAGER = env_bool(
    "CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL.startswith("memory")
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("RADBOT_CELERY_QUEUE", "radbot")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The network stages (segment, classify) of an inference job go here, so GPU workers can
# take only them: `celery -A radbot_web worker -Q $RADBOT_INFERENCE_QUEUE`.
RADBOT_INFERENCE_QUEUE = os.environ.get("RADBOT_INFERENCE_QUEUE", CELERY_TASK_DEFAULT_QUEUE)

# Run the image models on each study as its images arrive (when a model exists).
RADBOT_INFER_AFTER_INGEST = env_bool("RADBOT_INFER_AFTER_INGEST", default=False)

# --- The DICOM listener (`manage.py dicom_listener`; README, Receiving from a scanner or PACS) ---
# Its AE title and port, and the address it listens on (loopback unless set: a scanner on the
# network needs RADBOT_DICOM_BIND=0.0.0.0 or the host's address, behind the firewall).
RADBOT_DICOM_AE_TITLE = os.environ.get("RADBOT_DICOM_AE_TITLE", "RADBOT").strip()
RADBOT_DICOM_PORT = int(os.environ.get("RADBOT_DICOM_PORT", "11112"))
RADBOT_DICOM_BIND = os.environ.get("RADBOT_DICOM_BIND", "127.0.0.1").strip()
# The calling AE titles (scanners, PACS) allowed to associate, comma-separated. Required: the
# listener refuses to start without a list, so that it never takes images from anyone.
RADBOT_DICOM_ALLOWED_AES = [
    ae.strip() for ae in os.environ.get("RADBOT_DICOM_ALLOWED_AES", "").split(",") if ae.strip()
]
# Received images wait here (identified: keep it private to the listener) until their study
# is stored. Local to the listener's machine; it must survive restarts.
RADBOT_DICOM_SPOOL_DIR = Path(os.environ.get("RADBOT_DICOM_SPOOL_DIR", VAR_DIR / "dicom-spool"))
# A received study counts as complete once no image of it has arrived for this many seconds;
# it is then stored through the same ingest as uploads (and the AI runs when
# RADBOT_INFER_AFTER_INGEST is on). Scanners pause between series: too short a wait stores a
# study in parts, and the AI runs on each part.
RADBOT_STUDY_STABLE_S = float(os.environ.get("RADBOT_STUDY_STABLE_S", "60"))
# A complete study is stored in batches of at most this many bytes of images, each read into
# memory and committed on its own: what bounds the listener's memory on a very large study.
RADBOT_DICOM_BATCH_BYTES = int(os.environ.get("RADBOT_DICOM_BATCH_BYTES", str(512 * 1024**2)))

# Reports per labelling batch: progress is committed after each batch.
RADBOT_LABELLING_BATCH = int(os.environ.get("RADBOT_LABELLING_BATCH", "200"))

# Report import: the largest CSV/JSONL file accepted, in bytes (each report's text is
# capped at the labeller's 100k characters).
RADBOT_REPORT_IMPORT_MAX_BYTES = int(
    os.environ.get("RADBOT_REPORT_IMPORT_MAX_BYTES", str(50 * 1024**2))
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("RADBOT_LOG_LEVEL", "WARNING")},
}

# The app serves its own assets (no CDN); finders let the demo skip collectstatic.
WHITENOISE_USE_FINDERS = True

# Curation: the gold labels (study x level) the models should train on, and the share
# of reports (percent) that two annotators label independently for agreement statistics.
RADBOT_GOLD_TARGET = int(os.environ.get("RADBOT_GOLD_TARGET", "5000"))
RADBOT_CURATION_OVERLAP_PERCENT = int(os.environ.get("RADBOT_CURATION_OVERLAP_PERCENT", "10"))
# How long a report an annotator has open stays held for them (labeling/curation/leases.py).
RADBOT_CURATION_LEASE_S = int(os.environ.get("RADBOT_CURATION_LEASE_S", "600"))

# --- Jobs, tasks and database faults (review #7d, #12, #26; radbot_web/tasks.py) ---
# A task message delivered more often than this (its worker died each time) is not
# run again: its job fails with the reason instead of killing the next worker too.
RADBOT_TASK_MAX_ATTEMPTS = int(os.environ.get("RADBOT_TASK_MAX_ATTEMPTS", "3"))
# Time limits (seconds) of a task run by a worker: past the soft limit the task fails with
# the reason, a minute later its process is killed (radbot_web/tasks.py). The network
# stages of an inference job (segment, classify) get longer, still below
# RADBOT_JOB_STALE_S so that a slow stage fails with its own reason, not the reaper's; a
# labelling run commits its progress per batch and may take hours on a large archive.
# A message carries the limits of the process that sent it: set them alike for the web
# and the workers (a worker sends the next stage of a job).
RADBOT_TASK_SOFT_TIME_LIMIT_S = int(os.environ.get("RADBOT_TASK_SOFT_TIME_LIMIT_S", "600"))
RADBOT_NETWORK_STAGE_SOFT_TIME_LIMIT_S = int(
    os.environ.get("RADBOT_NETWORK_STAGE_SOFT_TIME_LIMIT_S", "1200")
)
RADBOT_LABELLING_RUN_SOFT_TIME_LIMIT_S = int(
    os.environ.get("RADBOT_LABELLING_RUN_SOFT_TIME_LIMIT_S", "21600")
)
# The reaper fails inference jobs and labelling runs that stopped moving: running with
# no stage/batch starting or ending for RADBOT_JOB_STALE_S, or queued with no worker
# taking them for RADBOT_JOB_QUEUED_STALE_S (long enough for a busy GPU queue).
RADBOT_JOB_STALE_S = int(os.environ.get("RADBOT_JOB_STALE_S", "1800"))
RADBOT_JOB_QUEUED_STALE_S = int(os.environ.get("RADBOT_JOB_QUEUED_STALE_S", "21600"))
# How often Celery beat runs the reaper (`celery -A radbot_web beat`, or a worker with -B);
# the study's AI panel also reaps that study's jobs when it loads.
RADBOT_REAPER_INTERVAL_S = int(os.environ.get("RADBOT_REAPER_INTERVAL_S", "300"))
# Results back (issue #14, part 3): where a signed report's DICOM SR, SEG and PDF go, as a
# JSON list (README, "Results back"). Parsed and checked by reports.outbox.destinations.
RADBOT_RESULT_DESTINATIONS = os.environ.get("RADBOT_RESULT_DESTINATIONS", "").strip()
# A failed send is tried again after base * 2^(attempt - 1) seconds, at most max apart, and
# given up after RADBOT_OUTBOX_MAX_ATTEMPTS tries (about a day and a half with the defaults);
# the sweep, run by Celery beat every RADBOT_OUTBOX_SWEEP_INTERVAL_S, sends what is due.
RADBOT_OUTBOX_RETRY_BASE_S = int(os.environ.get("RADBOT_OUTBOX_RETRY_BASE_S", "30"))
RADBOT_OUTBOX_RETRY_MAX_S = int(os.environ.get("RADBOT_OUTBOX_RETRY_MAX_S", "3600"))
RADBOT_OUTBOX_MAX_ATTEMPTS = int(os.environ.get("RADBOT_OUTBOX_MAX_ATTEMPTS", "40"))
RADBOT_OUTBOX_SWEEP_INTERVAL_S = int(os.environ.get("RADBOT_OUTBOX_SWEEP_INTERVAL_S", "30"))
# A row "sending" for this long belongs to a worker that died: the sweep makes it due again.
RADBOT_OUTBOX_SENDING_STALE_S = int(os.environ.get("RADBOT_OUTBOX_SENDING_STALE_S", "900"))
# Network timeouts of one send (DICOM association and DIMSE, or HTTP).
RADBOT_OUTBOX_TIMEOUT_S = int(os.environ.get("RADBOT_OUTBOX_TIMEOUT_S", "30"))
CELERY_BEAT_SCHEDULE = {
    "radbot-reap-stale-work": {
        "task": "radbot.reap_stale_work",
        "schedule": float(RADBOT_REAPER_INTERVAL_S),
    },
    # Thumbnails and AI runs an ingest could not queue (broker down) are queued again.
    "radbot-requeue-followups": {
        "task": "studies.requeue_followups",
        "schedule": float(RADBOT_REAPER_INTERVAL_S),
    },
    # Results whose send is due (new, or waiting to be tried again) are sent.
    "radbot-send-due-results": {
        "task": "reports.send_due_results",
        "schedule": float(RADBOT_OUTBOX_SWEEP_INTERVAL_S),
    },
}
# A database error (server restarted or down) answers 503 "try again" instead of a 500,
# and the broken connection is dropped; health checks replace a connection that died
# between requests before it is used.
MIDDLEWARE.insert(
    MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1
    if "whitenoise.middleware.WhiteNoiseMiddleware" in MIDDLEWARE
    else 0,
    "radbot_web.middleware_db.DatabaseUnavailableMiddleware",
)
MIDDLEWARE[MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware")] = (
    "radbot_web.middleware_db.DatabaseAwareSessionMiddleware"
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
