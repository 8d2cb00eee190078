"""Dataset Hub settings, read from the environment only.

Nothing set gives SQLite, a local-memory cache and filesystem storage under MEDIA_ROOT. A variable that
selects a service makes every value that service needs required, and a missing one stops start-up with a
message naming it. Every variable is listed in ``.env.example`` and documented in README.md.
"""

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    """Return the variable's value, or the default when it is unset or empty."""
    return os.environ.get(name, "") or default


def env_bool(name: str, default: bool = False) -> bool:
    """Return the variable as a boolean; only 1/0, true/false, yes/no and on/off are accepted."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def env_int(name: str, default: int) -> int:
    """Return the variable as an integer."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer; got {raw!r}") from None


def env_limit(name: str, default: int) -> int:
    """Return a limit: a non-negative integer, where ``0`` turns the limit off."""
    value = env_int(name, default)
    if value < 0:
        raise ImproperlyConfigured(f"{name} must be 0 (off) or a positive integer; got {value}")
    return value


def env_required(name: str, because: str) -> str:
    """Return the variable, failing start-up with its name when it is missing."""
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} is required {because}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated variable as a list of stripped, non-empty items."""
    raw = os.environ.get(name, "")
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# The development key's prefix is the one ``manage.py check --deploy`` refuses, so it cannot reach production.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "django-insecure-dataset-hub-development-key-set-DJANGO_SECRET_KEY")
DEBUG = env_bool("DJANGO_DEBUG")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# HTTPS: off by default so the local run command works over plain http; README's "Production" section lists
# the values ``manage.py check --deploy`` wants. Behind a TLS-terminating proxy, name the header it sets.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT")
# Load balancers probe the health check over plain http.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD")
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE")
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE")


def proxy_ssl_header_from_environment() -> tuple[str, str] | None:
    """``DJANGO_SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto`` trusts that header's ``https`` as a secure request."""
    header = env_str("DJANGO_SECURE_PROXY_SSL_HEADER")
    if not header:
        return None
    return "HTTP_" + header.upper().replace("-", "_"), "https"


SECURE_PROXY_SSL_HEADER = proxy_ssl_header_from_environment()


# Requests per minute under the API prefixes, counted in the cache per access key (X-Token, or the institution
# SecretId) and per client address; 0 turns a limit off. With a local-memory cache each process counts alone.
RATE_LIMIT_PER_KEY = env_limit("RATE_LIMIT_PER_KEY", 600)
RATE_LIMIT_PER_ADDRESS = env_limit("RATE_LIMIT_PER_ADDRESS", 1200)
# The client address is REMOTE_ADDR; behind N proxies that each append to X-Forwarded-For, set N here and the
# address the outermost proxy saw is used instead. Never set it when clients can reach the hub directly.
TRUSTED_PROXY_COUNT = env_limit("TRUSTED_PROXY_COUNT", 0)
# Largest request body the APIs read (JSON) and Django reads into memory, in bytes; larger ones answer the
# dialect's "too large" error. The hub's streamed /storage/uploads has STORAGE_UPLOAD_MAX_SIZE instead.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_limit("REQUEST_BODY_MAX_SIZE", 10 * 1024**2)

# Fernet keys for secrets stored at rest, newest first: the first encrypts, every key decrypts, so a key is
# rotated by prepending a new one and running ``manage.py rotate_secrets``. Unset: derived from SECRET_KEY.
SECRETS_ENCRYPTION_KEYS = env_list("SECRETS_ENCRYPTION_KEYS", [])

# whale.run callers are trusted services; when this is set they must present it in X-Service-Token.
WHALERUN_SERVICE_TOKEN = env_str("WHALERUN_SERVICE_TOKEN")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "datasets",
    "storage_configs",
    "versioning",
    "catalog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "project.api.middleware.DialectErrorMiddleware",
    "project.api.limits.RequestLimitMiddleware",
    # Sessions, the login user and messages serve the admin and the pages; dialect requests skip them.
    "project.api.middleware.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "project.api.middleware.BrowserAuthenticationMiddleware",
    "project.api.middleware.BrowserMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
AUTH_USER_MODEL = "datasets.User"
# API routes are matched exactly as the dialects write them; a redirect would turn an SDK's POST into a GET.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


# The whale.run service's own variables (seed 000) are a second spelling of the hub's: the hub's variable wins
# where both are set, and any variable of a group set alone selects that service with the seed's defaults for
# the rest of the group. See README, "Replacing the whale.run service".
WHALERUN_MYSQL = {  # hub variable: (whale.run variable, whale.run default)
    "DB_HOST": ("FLASK_MYSQL_HOST", "localhost"),
    "DB_PORT": ("FLASK_MYSQL_PORT", "3306"),
    "DB_USER": ("FLASK_MYSQL_USER", "root"),
    "DB_PASSWORD": ("FLASK_MYSQL_PASSWORD", ""),
    "DB_NAME": ("FLASK_MYSQL_DB", "whalerun_dataset"),
}
WHALERUN_REDIS = {
    "host": ("FLASK_REDIS_HOST", "localhost"),
    "port": ("FLASK_REDIS_PORT", "6379"),
    "db": ("FLASK_REDIS_DB", "0"),
}
WHALERUN_OSS = ("OSS_BUCKET_NAME", "OSS_REGION_ID", "OSS_MOUNT_POINT")
OSS_ENVIRONMENT_CREDENTIALS = ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN")


def variables_set(names: Any) -> list[str]:
    """The names among these whose variable is set to a non-empty value."""
    return [name for name in names if os.environ.get(name, "")]


def env_port(name: str, default: str) -> str:
    """Return the variable as a TCP port number (1-65535), as text."""
    value = env_int(name, int(default))
    if not 0 < value < 65536:
        raise ImproperlyConfigured(f"{name} must be a port number (1-65535); got {value}")
    return str(value)


def whalerun_mysql_url(engine: str) -> str:
    """Build a MySQL URL from the DB_* variables, each falling back to its FLASK_MYSQL_* spelling and default."""
    values = {}
    for hub_name, (seed_name, default) in WHALERUN_MYSQL.items():
        name = hub_name if os.environ.get(hub_name, "") else seed_name
        values[hub_name] = env_port(name, default) if hub_name == "DB_PORT" else env_str(name, default)
    if engine and engine != "mysql":
        seeds = ", ".join(variables_set(seed for seed, _ in WHALERUN_MYSQL.values()))
        raise ImproperlyConfigured(f"DB_ENGINE={engine} contradicts whale.run's MySQL variables ({seeds}); unset one")
    user, password = quote(values["DB_USER"], safe=""), quote(values["DB_PASSWORD"], safe="")
    return f"mysql://{user}:{password}@{values['DB_HOST']}:{values['DB_PORT']}/{quote(values['DB_NAME'], safe='')}"


def database_from_environment() -> dict[str, Any]:
    """Build the default database from DATABASE_URL, DB_ENGINE and its DB_* variables, or FLASK_MYSQL_*."""
    url = env_str("DATABASE_URL")
    engine = env_str("DB_ENGINE")
    seeds = variables_set(seed for seed, _ in WHALERUN_MYSQL.values())
    if url and engine:
        raise ImproperlyConfigured("set DATABASE_URL or DB_ENGINE, not both")
    if url and seeds and not url.startswith("mysql://"):
        raise ImproperlyConfigured(
            f"DATABASE_URL is not a mysql:// URL but whale.run's MySQL variables ({', '.join(seeds)}) are set; "
            "unset one"
        )
    if seeds and not url:
        url = whalerun_mysql_url(engine)
    elif engine:
        if engine not in ("mysql", "sqlite"):
            raise ImproperlyConfigured(f"DB_ENGINE must be mysql or sqlite; got {engine!r}")
        because = f"when DB_ENGINE={engine}"
        if engine == "sqlite":
            url = "sqlite:///" + env_required("DB_NAME", because)
        else:
            name = env_required("DB_NAME", because)
            user = env_required("DB_USER", because)
            host = env_required("DB_HOST", because)
            password = env_str("DB_PASSWORD")
            port = env_str("DB_PORT", "3306")
            url = f"mysql://{user}:{password}@{host}:{port}/{name}"
    if not url:
        url = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 0)))
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {error}") from None
    if config["ENGINE"] == "django.db.backends.mysql":
        if not config.get("NAME"):
            raise ImproperlyConfigured("DATABASE_URL must name a database: mysql://user:pass@host:port/NAME")
        config["OPTIONS"] = {"charset": "utf8mb4", "init_command": "SET sql_mode='STRICT_TRANS_TABLES'"}
        config["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    elif config["ENGINE"] != "django.db.backends.sqlite3":
        raise ImproperlyConfigured("DATABASE_URL must be a mysql:// or sqlite:// URL")
    return config


DATABASES = {"default": database_from_environment()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def redis_url_from_environment() -> str:
    """Return REDIS_URL, or a URL built from FLASK_REDIS_* (the seed's defaults filling the rest), or ""."""
    url = env_str("REDIS_URL")
    if url or not variables_set(name for name, _ in WHALERUN_REDIS.values()):
        return url
    (host_name, host), (port_name, port), (db_name, db) = WHALERUN_REDIS.values()
    number = env_int(db_name, int(db))
    if number < 0:
        raise ImproperlyConfigured(f"{db_name} must be a database number (0 or more); got {number}")
    return f"redis://{env_str(host_name, host)}:{env_port(port_name, port)}/{number}"


REDIS_URL = redis_url_from_environment()
if REDIS_URL:
    if urlsplit(REDIS_URL).scheme not in ("redis", "rediss", "unix"):
        raise ImproperlyConfigured("REDIS_URL must be a redis://, rediss:// or unix:// URL")
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "datasethub"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # A local-memory cache is per process, so sessions stay in the database until Redis is configured.
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# How long a page of a public list (whale.run, AIDMP, Graviti dataset lists) stays in the cache, in seconds;
# every change to what a list shows retires the cached pages at once. 0 turns the list cache off. Off by
# default on the local-memory cache: each process keeps its own, so a change made through one process would
# not retire the pages the others keep.
LIST_CACHE_SECONDS = env_int("LIST_CACHE_SECONDS", 60 if REDIS_URL else 0)

# Jobs (merges) run as Celery tasks. CELERY_BROKER_URL names RabbitMQ (amqp://) or Redis (redis://); workers
# started with `celery -A project worker` on any machine sharing the database and storage then run them.
# Unset, jobs run in the web process with no broker and no worker: a job starts on the first read of it (or
# of the dataset's job list), so an abort sent right after create still finds it queued.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
if CELERY_BROKER_URL and urlsplit(CELERY_BROKER_URL).scheme not in ("amqp", "amqps", "pyamqp", "redis", "rediss"):
    raise ImproperlyConfigured("CELERY_BROKER_URL must be an amqp://, amqps://, redis:// or rediss:// URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# A job run in the web process that fails unexpectedly (the database went away) fails the request that ran it.
CELERY_TASK_EAGER_PROPAGATES = True
# The queue jobs are sent to and workers read (`celery -A project worker -Q <name>` for another one).
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
# A task is acknowledged only once it has run, so one whose worker dies is delivered again; the job row
# decides what a second delivery does (see versioning/jobs.py).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing tries the broker briefly, so a create answers 503 within seconds when the broker is away.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_TASK_IGNORE_RESULT = True
# A job running longer than this ends FAILED with a message saying so.
JOB_TIME_LIMIT_SECONDS = env_int("JOB_TIME_LIMIT_SECONDS", 600)
# Seconds a queued job waits before a worker starts it: an abort sent right after create (as the SDK's own
# tests do) then always finds it queued. The SDK polls every 5 s, so the wait is not seen.
JOB_START_DELAY_SECONDS = env_int("JOB_START_DELAY_SECONDS", 1)

MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATIC_URL = "/static/"


def storage_backend_from_environment() -> str:
    """STORAGE_BACKEND, or ``oss`` when whale.run's OSS_* variables name a bucket; a contradiction fails."""
    backend = env_str("STORAGE_BACKEND")
    seeds = variables_set(WHALERUN_OSS)
    if not seeds:
        return backend or "filesystem"
    if backend and backend != "oss":
        raise ImproperlyConfigured(
            f"STORAGE_BACKEND={backend} contradicts whale.run's OSS variables ({', '.join(seeds)}); unset one"
        )
    if not os.environ.get("STORAGE_OSS_BUCKET", "") and not os.environ.get("OSS_BUCKET_NAME", ""):
        raise ImproperlyConfigured(f"OSS_BUCKET_NAME (or STORAGE_OSS_BUCKET) is required when {seeds[0]} is set")
    return "oss"


def oss_options_from_environment(because: str) -> dict[str, Any]:
    """The OSS storage's options from STORAGE_OSS_*, each falling back to its whale.run or ``oss2`` spelling.

    The endpoint is ``oss-<OSS_REGION_ID>.aliyuncs.com``; the credentials are the hub's pair or, when neither
    of it is set, ``oss2``'s own OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET / OSS_SESSION_TOKEN.
    """
    endpoint = env_str("STORAGE_OSS_ENDPOINT")
    if not endpoint:
        region = env_required("OSS_REGION_ID", f"{because} and STORAGE_OSS_ENDPOINT is unset")
        if not all(part.isalnum() for part in region.split("-")):
            raise ImproperlyConfigured(f"OSS_REGION_ID must be a region id such as cn-hangzhou; got {region!r}")
        endpoint = f"https://oss-{region}.aliyuncs.com"
    bucket = env_str("STORAGE_OSS_BUCKET") or env_required(
        "OSS_BUCKET_NAME", f"{because} and STORAGE_OSS_BUCKET is unset"
    )
    hub_credentials = variables_set(("STORAGE_OSS_ACCESS_KEY_ID", "STORAGE_OSS_ACCESS_KEY_SECRET"))
    if hub_credentials or not variables_set(OSS_ENVIRONMENT_CREDENTIALS):
        unless = "" if hub_credentials else " (or OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET, oss2's own)"
        key_id = env_required("STORAGE_OSS_ACCESS_KEY_ID", because + unless)
        key_secret = env_required("STORAGE_OSS_ACCESS_KEY_SECRET", because + unless)
        token = ""
    else:
        because = f"{because} and STORAGE_OSS_ACCESS_KEY_ID is unset (oss2's environment credentials)"
        key_id = env_required("OSS_ACCESS_KEY_ID", because)
        key_secret = env_required("OSS_ACCESS_KEY_SECRET", because)
        token = env_str("OSS_SESSION_TOKEN")
    return {
        "endpoint": endpoint,
        "bucket_name": bucket,
        "access_key_id": key_id,
        "access_key_secret": key_secret,
        "security_token": token,
    }


def oss_mount_point_from_environment(backend: str) -> Path | None:
    """Where the OSS bucket is mounted on this host (ossfs): STORAGE_OSS_MOUNT_POINT or OSS_MOUNT_POINT."""
    name = "STORAGE_OSS_MOUNT_POINT" if os.environ.get("STORAGE_OSS_MOUNT_POINT", "") else "OSS_MOUNT_POINT"
    mount = env_str(name)
    if not mount:
        return None
    if backend != "oss":
        raise ImproperlyConfigured(f"{name} is the mount of the hub's OSS bucket, but STORAGE_BACKEND={backend}")
    if not Path(mount).is_absolute() or not Path(mount).is_dir():
        raise ImproperlyConfigured(
            f"{name} must be the absolute path of a directory (the mounted bucket); got {mount!r}"
        )
    return Path(mount)


def default_storage_from_environment() -> tuple[str, dict]:
    """Pick the hub's own storage from STORAGE_BACKEND or OSS_*; each backend makes its variables required."""
    backend = storage_backend_from_environment()
    chosen_by = [] if env_str("STORAGE_BACKEND") or backend != "oss" else variables_set(WHALERUN_OSS)
    because = f"when {chosen_by[0]} is set" if chosen_by else f"when STORAGE_BACKEND={backend}"
    if backend == "filesystem":
        return backend, {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"allow_overwrite": True}}
    if backend == "s3":
        options = {
            "bucket_name": env_required("STORAGE_S3_BUCKET", because),
            "access_key": env_required("STORAGE_S3_ACCESS_KEY_ID", because),
            "secret_key": env_required("STORAGE_S3_SECRET_ACCESS_KEY", because),
            "endpoint_url": env_str("STORAGE_S3_ENDPOINT_URL") or None,
            "region_name": env_str("STORAGE_S3_REGION") or None,
            "addressing_style": env_str("STORAGE_S3_ADDRESSING_STYLE") or None,
            "file_overwrite": True,
            "default_acl": None,
            "querystring_auth": True,
        }
        return backend, {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
    if backend == "azure":
        account_name = env_required("STORAGE_AZURE_ACCOUNT_NAME", because)
        account_key = env_required("STORAGE_AZURE_ACCOUNT_KEY", because)
        endpoint = env_str("STORAGE_AZURE_ENDPOINT")
        options = {
            "azure_container": env_required("STORAGE_AZURE_CONTAINER", because),
            "account_name": account_name,
            "account_key": account_key,
            "endpoint_suffix": env_str("STORAGE_AZURE_ENDPOINT_SUFFIX", "core.windows.net"),
            "overwrite_files": True,
        }
        if endpoint:
            # A full blob endpoint (Azurite, a private link) replaces the account's public address.
            options["connection_string"] = (
                f"AccountName={account_name};AccountKey={account_key};BlobEndpoint={endpoint.rstrip('/')};"
            )
        return backend, {"BACKEND": "storages.backends.azure_storage.AzureStorage", "OPTIONS": options}
    if backend == "oss":
        return backend, {"BACKEND": "storage_configs.oss.OssStorage", "OPTIONS": oss_options_from_environment(because)}
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be filesystem, s3, azure or oss; got {backend!r}")


STORAGE_BACKEND, _default_storage = default_storage_from_environment()
# whale.run's file checks and reads (POST /api/dataset_files/) use the mount; every write goes through OSS's API.
STORAGE_OSS_MOUNT_POINT = oss_mount_point_from_environment(STORAGE_BACKEND)
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Directories of ``local`` storage configs live under this root; a config's file path cannot leave it.
STORAGE_LOCAL_ROOT = Path(env_str("STORAGE_LOCAL_ROOT", str(MEDIA_ROOT / "local")))
# The hub's public address (https://hub.example.com), for signed storage URLs made outside a request.
STORAGE_PUBLIC_URL = env_str("STORAGE_PUBLIC_URL")
# Largest object the hub's own upload endpoint and the upload policies accept, in bytes.
STORAGE_UPLOAD_MAX_SIZE = env_int("STORAGE_UPLOAD_MAX_SIZE", 5 * 1024**3)
# How long signed download URLs and upload policies stay valid, in seconds.
STORAGE_URL_EXPIRES = env_int("STORAGE_URL_EXPIRES", 3600)
# Serve static files straight from the apps as well, so the service runs before ``collectstatic``.
WHITENOISE_USE_FINDERS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["project.api.renderers.OrjsonRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "project.api.dialects.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "project.api.schema.DialectAutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Dataset Hub",
    "DESCRIPTION": "Publishing, versioning and moderating machine-learning datasets.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every dialect operation documents its error answers too (project.api.schema.DialectAutoSchema).
    "POSTPROCESSING_HOOKS": ["project.api.schema.postprocess_enums_outside_error_bodies"],
    # Its deploy check builds one schema of every route, which the hub never serves: the five dialects reuse
    # names across schemas. The schemas served, one per dialect, are checked by the tests instead.
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
    # /docs/ offers every dialect's schema in Swagger UI's dropdown.
    "SWAGGER_UI_SETTINGS": {
        "urls": [
            {"name": name, "url": f"/openapi/{name}.json"}
            for name in ("tensorbay", "graviti", "whalerun", "aidmp", "institution")
        ]
    },
}


def logging_from_environment() -> dict[str, Any]:
    """Log to the console and, with LOG_FILE (or whale.run's FLASK_LOGFILE), to that file too, rotated by size."""
    handlers: dict[str, dict[str, Any]] = {"console": {"class": "logging.StreamHandler"}}
    name = "LOG_FILE" if os.environ.get("LOG_FILE", "") else "FLASK_LOGFILE"
    log_file = env_str(name)
    if log_file:
        # Relative to the working directory, as the whale.run service opens it.
        path = Path(log_file)
        if not path.parent.is_dir():
            raise ImproperlyConfigured(f"{name} must be a file in an existing directory; got {log_file!r}")
        handlers["file"] = {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": str(path),
            "maxBytes": env_limit("LOG_FILE_MAX_BYTES", 10 * 1024**2),
            "backupCount": env_limit("LOG_FILE_BACKUP_COUNT", 5),
            "formatter": "file",
            "encoding": "utf-8",
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"file": {"format": "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"}},
        "handlers": handlers,
        "root": {"handlers": list(handlers), "level": env_str("LOG_LEVEL", "INFO")},
    }


LOGGING = logging_from_environment()
