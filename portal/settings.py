"""Settings of the portal, all read from environment variables.

Embedded default (nothing set): SQLite file under var/, Celery tasks run in-process,
nodes of transport "local" write under var/nodes. Production: DEBUG off, SECRET_KEY set,
DATABASE_URL=mysql://..., CELERY_BROKER_URL=redis://...
"""

import os
import secrets
import stat
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set in production mode (DEBUG off). "
            "Set DEBUG=1 to use the embedded default, which keeps a generated key under var/."
        )
    # Embedded default: generated once, kept out of the repository, readable by owner only.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(64))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# Key for secrets encrypted at rest (registration secrets, TOTP seeds, LDAP/SMTP passwords).
# Defaults to one derived from SECRET_KEY; set it on its own to rotate SECRET_KEY safely.
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp_webauthn",
    "portal.apps.PortalConfig",
    "nodes.apps.NodesConfig",
    "extensions.apps.ExtensionsConfig",
    "users.apps.UsersConfig",
    "licensing.apps.LicensingConfig",
    "webfon.apps.WebfonConfig",
    "accounts.apps.AccountsConfig",
    "bulk.apps.BulkConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so the static files it answers carry the policy too.
    "csp.middleware.CSPMiddleware",
    # Static files from the process itself (no web server serves files: Apache only proxies).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Spanish, or the language the staff account chose (never the browser's Accept-Language).
    "accounts.language.StaffLanguageMiddleware",
    # Whether the session gave a second factor; then the gate of accounts/middleware.py.
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.StaffSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------


def _mysql_tls_options(host: str, mode: str, ca: str) -> dict:
    """PyMySQL's TLS options for DB_TLS (auto, disabled, preferred, required) and DB_TLS_CA.

    PyMySQL on its own negotiates TLS whenever the server offers it, building a new SSL context
    (the whole system CA store, ~35 ms of CPU) for every connection: a Celery worker opening one
    per task spends more on that than on the push. "auto" keeps that behaviour for a remote
    server and turns TLS off for one on this machine (socket or loopback), where it protects
    nothing. A CA file makes TLS required and verifies the server's certificate against it.
    """
    if ca:
        return {"ssl": {"ca": ca}}
    if mode == "auto":
        mode = "disabled" if host in {"", "localhost", "127.0.0.1", "::1"} else "preferred"
    if mode == "disabled":
        return {"ssl_disabled": True}
    if mode == "preferred":
        return {}
    if mode == "required":
        raise ImproperlyConfigured("DB_TLS=required needs DB_TLS_CA, the CA file to verify with")
    raise ImproperlyConfigured(
        f"DB_TLS={mode!r}: expected auto, disabled, preferred or required (with DB_TLS_CA)"
    )


def _private_sqlite_file(name: str) -> None:
    """The SQLite database holds password hashes and encrypted secrets: it is created 0600
    before SQLite opens it (SQLite gives its journal and WAL files the database's mode), and
    an older one loses its group and other bits."""
    path = Path(name)
    if name in ("", ":memory:") or name.startswith("file:") or not path.parent.is_dir():
        return  # in memory, or a directory SQLite will complain about itself
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o700)
    except PermissionError:
        pass  # someone else's file (a read-only deployment): left as it is


DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))
if _db["ENGINE"] == "django.db.backends.mysql":
    import pymysql

    pymysql.install_as_MySQLdb()
    _db["OPTIONS"] = {
        "charset": "utf8mb4",
        "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
        "isolation_level": "read committed",
        **_mysql_tls_options(
            _db.get("HOST") or "", env_str("DB_TLS", "auto"), env_str("DB_TLS_CA")
        ),
    }
    _db["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so concurrent writers wait instead of failing.
    _db["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    _private_sqlite_file(str(_db["NAME"]))
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (Redis in production so every process shares it) -------------------------------
REDIS_CACHE_URL = env_str("CACHE_URL")
if REDIS_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_CACHE_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth ---------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# ModelBackend with each account's permission set cached (portal/auth_backends.py).
AUTHENTICATION_BACKENDS = ["portal.auth_backends.CachedPermissionBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# --- Staff login (accounts/) ---------------------------------------------------------------
# Lockout per (account, client address): this many failures within the window lock the pair.
STAFF_LOGIN_FAILURE_LIMIT = env_int("STAFF_LOGIN_FAILURE_LIMIT", 5)
STAFF_LOGIN_FAILURE_WINDOW_SECONDS = env_int("STAFF_LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
STAFF_LOGIN_LOCKOUT_SECONDS = env_int("STAFF_LOGIN_LOCKOUT_SECONDS", 15 * 60)
# Seconds of delay after a wrong second-factor code, doubling with each one (django-otp).
STAFF_OTP_THROTTLE_FACTOR = env_int("STAFF_OTP_THROTTLE_FACTOR", 1)
# Roles whose accounts must have a second factor (the others may add one).
STAFF_SECOND_FACTOR_ROLES = env_list("STAFF_SECOND_FACTOR_ROLES", ["administrador"])
# Dangerous actions ask for the password again when the last confirmation is older.
STAFF_SUDO_SECONDS = env_int("STAFF_SUDO_SECONDS", 10 * 60)
# Passkeys (django-otp-webauthn), as a second factor only (never instead of the password).
# The relying party is the portal's host name; credentials are bound to it for good.
OTP_WEBAUTHN_RP_ID = env_str(
    "STAFF_WEBAUTHN_RP_ID",
    next(
        (h.lstrip(".") for h in ALLOWED_HOSTS if h not in ("*", "127.0.0.1", "[::1]")), "localhost"
    ),
)
OTP_WEBAUTHN_RP_NAME = env_str("STAFF_WEBAUTHN_RP_NAME", "VIVAit Call")
OTP_WEBAUTHN_ALLOWED_ORIGINS = env_list(
    "STAFF_WEBAUTHN_ORIGINS",
    [f"https://{OTP_WEBAUTHN_RP_ID}"] + (["http://localhost:8000"] if DEBUG else []),
)
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False

# --- I18n ---------------------------------------------------------------------------------
LANGUAGE_CODE = "es"
LANGUAGES = [("es", _("Español")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Madrid")
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Production: `manage.py collectstatic` writes hashed, compressed copies to STATIC_ROOT and
# WhiteNoise serves them (hashed names cached for a year, immutable). DEBUG=1 (the embedded
# default, the tests) serves the source files as they are, found at request time.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Fixed when the settings load: the tests turn DEBUG off at run time but have no collected files.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG

# --- Security -----------------------------------------------------------------------------
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)  # one working day
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# A monitor on the host may ask gunicorn itself, over plain HTTP (README, "Production").
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles and everything else from the portal
# itself, no inline code, no framing; browsers report violations to /csp-report/ (logged).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # Bootstrap draws its icons (select arrows, toggler) as data: SVG images.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "report-uri": "/csp-report/",
    },
}
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    # Only behind a proxy that sets X-Forwarded-Proto itself and strips the client's.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or None
if CELERY_BROKER_URL and CELERY_BROKER_URL.startswith("redis://"):
    # See portal/broker.py. rediss:// keeps kombu's own transport, which sets up its TLS.
    CELERY_BROKER_TRANSPORT = "portal.broker:Transport"
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
# Without a broker, tasks run in the calling process: the embedded default needs no server.
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
# Processes of a `celery worker` (default: one per CPU).
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", 0) or None
# celery beat's record of when each periodic task last ran (not in the code's directory).
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# An unacknowledged task (its worker died) goes back to the queue after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
# Push retries when a node is unreachable: base delay doubles each time, up to the maximum.
PUSH_MAX_RETRIES = env_int("PUSH_MAX_RETRIES", 6)
PUSH_RETRY_BASE_SECONDS = env_int("PUSH_RETRY_BASE_SECONDS", 5)
# A push still running after this long belonged to a worker that died; it may be taken over.
PUSH_RUNNING_LEASE_SECONDS = env_int("PUSH_RUNNING_LEASE_SECONDS", 600)
# A push pending longer than this lost its message (broker restarted): the sweep re-sends it.
PUSH_PENDING_GRACE_SECONDS = env_int("PUSH_PENDING_GRACE_SECONDS", 60)
# How often celery beat runs the sweep that re-sends lost pushes and takes over dead ones.
PUSH_SWEEP_SECONDS = env_int("PUSH_SWEEP_SECONDS", 60)
CELERY_BEAT_SCHEDULE = {
    "push-sweep": {"task": "nodes.push_sweep", "schedule": float(PUSH_SWEEP_SECONDS)},
    # Expired webfon sessions give their pool extensions back within a minute.
    "webfon-sessions-expire": {"task": "webfon.sessions_expire", "schedule": 60.0},
    # escobaToken.pl: dead tokens are deleted, in small batches.
    "webfon-sessions-purge": {"task": "webfon.sessions_purge", "schedule": 3600.0},
    # Certificates of the nodes: read certbot's, warn 30, 14 and 7 days before expiry.
    "nodes-certificates-check": {
        "task": "nodes.certificates_check",
        "schedule": crontab(hour=7, minute=30),
    },
    # Finished hours of the pools' occupancy are written a few minutes after they end.
    "webfon-occupancy-rollup": {"task": "webfon.occupancy_rollup", "schedule": 300.0},
    # Hourly login counters and occupancy hours are kept 400 days.
    "webfon-outcomes-purge": {"task": "webfon.outcomes_purge", "schedule": 86400.0},
    # Imports whose worker died are refused (IMPORT_LEASE_SECONDS).
    "bulk-jobs-sweep": {"task": "bulk.jobs_sweep", "schedule": 60.0},
    # Previews never applied lose their file (IMPORT_PREVIEW_TTL_HOURS); old imports go.
    "bulk-previews-expire": {"task": "bulk.previews_expire", "schedule": 900.0},
}

# --- Nodes ------------------------------------------------------------------------------
# The only directory under which nodes of transport "local" may keep their files (a node's
# directory is LOCAL_NODES_DIR/<its name>, or its local_root inside it). Empty: local nodes
# are refused. Default: var/nodes with DEBUG=1 (the embedded default's demo node), off in
# production mode.
LOCAL_NODES_DIR = env_str("LOCAL_NODES_DIR", str(VAR_DIR / "nodes") if DEBUG else "")
# Root certificates a node's uploaded certificate chain may end at (a PEM bundle): empty means
# the system's (Debian's ca-certificates). An installer with a private CA names its root here.
NODE_CERTIFICATE_ROOTS = env_str("NODE_CERTIFICATE_ROOTS", "")

# --- E-mail of the portal itself (staff password reset) -----------------------------------
# The webfon PINs go out through the WebRTC node's SMTP settings (entered for serCen); the
# portal's own mail uses these, through Django's SMTP backend.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)  # STARTTLS
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)  # TLS from the start (port 465)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "VIVAit Call <vivaitcall@localhost>")
# A password reset link works for one hour, once (Django's tokens change with the password).
PASSWORD_RESET_TIMEOUT = 3600

# --- Webfon login -------------------------------------------------------------------------
# Proxies (CIDRs) whose X-Forwarded-For is believed; nobody else's header is ever read.
WEBFON_TRUSTED_PROXIES = env_list("WEBFON_TRUSTED_PROXIES", [])
# From address of PIN e-mails (default: the node's SMTP user, or vivaitcall@<node domain>).
WEBFON_PIN_SENDER = env_str("WEBFON_PIN_SENDER")
# The serCen-style log of failed logins (TRUCO_KO lines) that fail2ban reads.
WEBFON_AUTH_LOG = Path(env_str("WEBFON_AUTH_LOG", str(VAR_DIR / "log" / "serCen.log")))
WEBFON_AUTH_LOG.parent.mkdir(parents=True, exist_ok=True)

# Every list's choice filters offer "Todos" (all) as their empty choice, not "---------".
FILTERS_EMPTY_CHOICE_LABEL = _("Todos")

# --- Metrics (GET /metrics, Prometheus text format) ---------------------------------------
# Client networks (CIDRs) that may read /metrics without a token; the client address is taken
# as the webfon login takes it (X-Forwarded-For only from WEBFON_TRUSTED_PROXIES). Empty: none.
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", [])
# A token that reads /metrics from anywhere (Authorization: Bearer <token>). Empty: none.
METRICS_TOKEN = env_str("METRICS_TOKEN")

# --- API tokens ---------------------------------------------------------------------------
# Days a new API token is valid unless its creator says otherwise.
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90)

# --- REST framework -----------------------------------------------------------------------
# The largest JSON body the API reads (a pool of 10,000 members is ~100 KB).
API_JSON_MAX_BYTES = env_int("API_JSON_MAX_BYTES", 1024 * 1024)
# The largest file an import accepts (10,000 users as CSV are about 1 MB).
BULK_IMPORT_MAX_BYTES = env_int("BULK_IMPORT_MAX_BYTES", 20 * 1024 * 1024)
# A file of more rows is previewed and applied by a Celery task (bulk.import_preview,
# bulk.import_apply) while the page shows its progress; up to this many, in the request.
IMPORT_ASYNC_ROWS = env_int("IMPORT_ASYNC_ROWS", 500)
# A running import writes its rows done every this many rows (one UPDATE each time).
IMPORT_PROGRESS_ROWS = env_int("IMPORT_PROGRESS_ROWS", 100)
# A queued or running import with no sign of life for this long (its worker died, its message
# was lost) is refused by the beat's sweep (bulk.jobs_sweep): nothing was written.
IMPORT_LEASE_SECONDS = env_int("IMPORT_LEASE_SECONDS", 600)
# A preview not applied within this many hours expires: its file (which can hold passwords)
# is deleted (bulk.previews_expire). Finished imports are deleted after IMPORT_RETENTION_DAYS.
IMPORT_PREVIEW_TTL_HOURS = env_int("IMPORT_PREVIEW_TTL_HOURS", 24)
IMPORT_RETENTION_DAYS = env_int("IMPORT_RETENTION_DAYS", 90)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "core.api.permissions.RolePermission",
        "accounts.sudo.SessionSudoPermission",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PortalPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies with a size and a nesting limit (core/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "VIVAit Call — API del portal de administración",
    "DESCRIPTION": "REST API v1 for integrations. Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and the docs describe the whole API: a staff login or a token to read them.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for a choice set several fields share (serCen.conf's and the plugin's modes).
    "ENUM_NAME_OVERRIDES": {
        "PushStatusEnum": "nodes.api.serializers.PUSH_API_STATUS_NAMES",
        "SecretFileModeEnum": "nodes.models.SECRET_FILE_MODES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.add_error_responses",
    ],
}

# --- Logging: one line per event, key=value, never secrets -------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "event": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "sercen": {"()": "webfon.authlog.SerCenFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "event"},
        "webfon_auth": {
            # WatchedFileHandler: logrotate may move the file; several processes append to it.
            "class": "logging.handlers.WatchedFileHandler",
            "filename": str(WEBFON_AUTH_LOG),
            "formatter": "sercen",
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Three INFO lines per SSH connection; the push logs its own events.
        "paramiko": {"level": "WARNING"},
        "webfon.auth": {"handlers": ["webfon_auth"], "level": "INFO", "propagate": False},
    },
}
