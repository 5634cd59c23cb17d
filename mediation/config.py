"""Configuration classes, read from ``MEDIATION_*`` environment variables.

``Config`` holds the embedded defaults (SQLite under ``instance/``, no broker, console
delivery of e-mail and SMS). Every setting that matters when scaling out comes from the
environment, so one code base runs a laptop demo and a multi-process deployment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

ENV_PREFIX = "MEDIATION_"
DEFAULT_SECRET_PLACEHOLDER = "change-me"  # noqa: S105 - refused, never used


class ConfigurationError(RuntimeError):
    """The platform refuses to start with this configuration."""


class Config:
    """Embedded defaults shared by every mode; subclasses change what differs."""

    ENV_NAME = "base"
    DEBUG = False
    TESTING = False

    SECRET_KEY: str | None = None
    # None means "under the app's instance folder", resolved in finalize().
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, Any]] = {"pool_pre_ping": True}
    REDIS_URL: str | None = None
    # How many reverse proxies stand in front (0: none; trust no X-Forwarded-* header).
    PROXY_HOPS = 0
    # The address users reach the platform at, for links in text messages and e-mails.
    BASE_URL = "http://127.0.0.1:5000"
    # Files (evidence, recordings, PDFs, packages): the folder STORAGE_DIR (default
    # instance/storage), or, with STORAGE_URL=s3://bucket/prefix, an S3-compatible object
    # store that every machine of the installation shares (mediation/core/storage.py).
    STORAGE_DIR: str | None = None
    STORAGE_URL: str | None = None
    S3_ENDPOINT_URL: str | None = None
    S3_ACCESS_KEY_ID: str | None = None
    S3_SECRET_ACCESS_KEY: str | None = None
    S3_REGION: str | None = None
    # "path" (MinIO, Ceph, moto) or "virtual" (Alibaba OSS and Tencent COS require it).
    S3_ADDRESSING_STYLE = "path"
    # With object storage, where a recorder keeps the files it is writing (default
    # instance/spool); each is uploaded when it closes.
    SPOOL_DIR: str | None = None
    # Divisions created after the list of division codes was published (core.divisions):
    # a CSV file of "code,name" rows; by default divisions-added.csv in the instance folder.
    DIVISIONS_ADDED: str | None = None
    # SQLite only: how long a write waits for another writer's lock before the user is asked
    # to try again (core/sqlite.py); the server answers other requests meanwhile.
    SQLITE_BUSY_SECONDS = 15.0

    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES: ClassVar[dict[str, str]] = {"zh_Hans_CN": "简体中文", "en": "English"}
    DEFAULT_PHONE_REGION = "CN"

    # Uploads: one evidence file, and a whole request (the rest is refused before any view).
    MAX_EVIDENCE_BYTES = 20 * 2**20
    MAX_CONTENT_LENGTH = 100 * 2**20

    # argon2-cffi parameter profile (argon2.profiles): RFC 9106's low-memory choice.
    ARGON2_PROFILE = "RFC_9106_LOW_MEMORY"

    WTF_CSRF_TIME_LIMIT = 3600 * 8  # a long form filled in on a phone must not expire mid-way
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True

    # Login throttling (Flask-Limiter syntax): failed tries per client address, per account
    # from one address (so a stranger who knows the number cannot lock its owner out from
    # elsewhere), and, more loosely, per account from anywhere.
    LOGIN_LIMIT_PER_ADDRESS = "20 per 10 minutes"
    LOGIN_LIMIT_PER_ACCOUNT = "5 per 10 minutes"
    LOGIN_LIMIT_PER_ACCOUNT_ANYWHERE = "100 per hour"  # above what one address may try (30)
    # Codes: per recipient (in the database: one a minute, CODE_LIMIT_PER_RECIPIENT_HOUR an
    # hour) and, loosely, per client address: an office or a carrier's NAT is many people.
    CODE_INTERVAL_SECONDS = 60
    CODE_LIMIT_PER_RECIPIENT_HOUR = 6
    CODE_SEND_LIMIT = "30 per 10 minutes"
    REGISTER_LIMIT = "10 per hour"
    CONSULTATION_ASK_LIMIT = "10 per hour"  # questions one address may ask
    RECEPTION_BOOK_LIMIT = "20 per hour"  # reception bookings one address may try
    # Evaluations counted for the statistics per address (evaluation/counts.py): a browser
    # is counted once a day per answer anyway; this bounds a client that drops its cookies.
    # Over it the page still answers, uncounted; an office or a carrier's NAT is many people.
    EVALUATION_COUNT_LIMIT = "30 per day"
    # Follow-up (followup/): the obligor is reminded this many days before an obligation's date.
    FOLLOWUP_REMIND_DAYS = 3
    # The court API (court/api.py): per token, per token for the package (each one is built
    # and signed when asked for) and for the signed decision (each one parsed and
    # validated), and answers 401 per client address (trying tokens).
    COURT_API_LIMIT = "600 per minute"
    COURT_API_PACKAGE_LIMIT = "20 per minute"
    COURT_API_SIGNED_LIMIT = "10 per minute"
    COURT_API_FAILURE_LIMIT = "20 per 10 minutes"
    ONE_TIME_CODE_TTL_MINUTES = 10
    ONE_TIME_CODE_MAX_ATTEMPTS = 5
    INVITATION_TTL_DAYS = 30

    # Outgoing messages: SMTP when a host is set, the console otherwise.
    SMTP_HOST: str | None = None
    SMTP_PORT = 25
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_STARTTLS = False
    MAIL_FROM = "noreply@mediation.localhost"
    # "console", "http" (SMS_URL + SMS_TOKEN) or "package.module:Class".
    SMS_GATEWAY = "console"
    SMS_URL: str | None = None
    SMS_TOKEN: str | None = None
    OUTBOX_BATCH = 50
    OUTBOX_POLL_SECONDS = 5
    # WebRTC: none needed on one machine or a LAN; parties at home need STUN, often TURN.
    ICE_STUN_URLS: ClassVar[list[str]] = []
    ICE_TURN_URLS: ClassVar[list[str]] = []
    TURN_SECRET: str | None = None
    # "relay": every media path goes through TURN (browsers and the recorder gather relay
    # candidates only). For proving a TURN deployment, or networks that must not expose
    # addresses; "all" (the default) lets ICE pick the direct path where there is one.
    ICE_TRANSPORT_POLICY = "all"
    # The Redis channel the web processes of one installation share (one per installation).
    SOCKETIO_CHANNEL = "mediation-socketio"
    # How often the room's events may come (Flask-Limiter syntax; docs/signaling.md,
    # "Limits"): over a limit an event is refused with `error` `rate_limited`, and a client
    # that keeps on is disconnected. WebRTC relays and every other event are counted per
    # connection; chat, minutes and arrivals, which are journaled for good, per participant
    # (a new connection does not start them again). Packets of any kind per connection,
    # malformed or not, also count towards SOCKET_LIMIT_PACKETS: over it, the connection ends.
    ROOM_LIMIT_SIGNAL = "300 per 10 seconds"  # a negotiation with six peers sends ~150
    # What a person in the lobby sends the mediator over the lobby link (layout.may_link),
    # per participant: making it is an offer or answer and ~5-15 candidates.
    ROOM_LIMIT_LOBBY_SIGNAL = "120 per minute"
    ROOM_LIMIT_CHAT = "20 per minute"
    ROOM_LIMIT_MINUTES = "60 per minute"  # the page saves 1.2 s after typing stops
    ROOM_LIMIT_EVENTS = "60 per minute"
    # The recorder's reports (a file written, a stream's gap begun or ended: each decides the
    # room's recording badge), per recorder connection: two a minute per stream that comes
    # and goes, in a room of up to 20 streams, with room to spare.
    ROOM_LIMIT_RECORDER = "600 per minute"
    ROOM_LIMIT_CONNECT = "20 per minute"
    SOCKET_LIMIT_PACKETS = "1000 per 10 seconds"
    # Arrivals and departures in one room within this many seconds are told to its members
    # together (signaling/roster.py, Announcer); 0 tells each at once.
    ROOM_BROADCAST_TICK = 0.05
    # Run the outbox worker as a thread of the web process (embedded defaults).
    EMBEDDED_WORKER = True
    # Start a recorder process beside the web process (embedded defaults); at scale run
    # `mediation recorder` on any machines. It reaches the rooms at RECORDER_URL (default:
    # the web process it was started by, or BASE_URL).
    EMBEDDED_RECORDER = True
    RECORDER_URL: str | None = None
    RECORDER_MAX_ROOMS = 4
    # Offer loopback ICE candidates too: for browsers on the recorder's own machine.
    RECORDER_LOOPBACK = True
    # A stream the recorder should record but does not receive is reported to the mediator,
    # journaled and named in the minutes (SPC online mediation rules art 22: the recording
    # stands for the minutes only when complete): no media within RECORDER_MEDIA_WITHIN
    # seconds of the offer, media stopped for RECORDER_STALL_SECONDS, or the recorder's own
    # event loop late by more than RECORDER_LAG_LIMIT seconds (overloaded).
    RECORDER_MEDIA_WITHIN = 10.0
    RECORDER_STALL_SECONDS = 3.0
    # A page's request for a new connection to the recorder (``restart``) is acted on once
    # the stream has stopped for this long: a shorter outage (a lift, a weak cell) ends on
    # the connection there is, which a new one made meanwhile only prolonged by seconds of
    # ICE, DTLS and a key frame over the same weak network (tests/journeys/
    # test_weak_network.py: gaps of 9-20 s for 5-6.5 s outages with it, the outage's
    # length without).
    RECORDER_RESTART_AFTER = 10.0
    # A socket's receive buffer holds about a second or two of a stream: a loop later than
    # this is losing packets.
    RECORDER_LAG_LIMIT = 1.5

    # Electronic signatures: the platform's own CA (root and issuing CA) and timestamp
    # authority live in PKI_DIR (default instance/pki); the root's key is encrypted with
    # PKI_ROOT_PASSPHRASE when one is set. TSA_URL points at an external RFC 3161 timestamp
    # authority instead of the built-in one; PKI_TRUST_ROOTS (PEM files) adds roots of an
    # external CA that verification accepts besides the platform's.
    PKI_DIR: str | None = None
    PKI_NAME = "Online Mediation Platform"
    PKI_ROOT_PASSPHRASE: str | None = None
    # Development and the demo create the root on first use; production never does (the
    # root is made offline: `mediation pki init-root`, then `mediation pki issue-ca`).
    PKI_CREATE_ROOT = True
    # The State Council's holidays for years the chinese-calendar package does not know yet
    # (mediation/cases/holidays.py); unset: holidays.toml in the instance folder, if any.
    HOLIDAYS_FILE: str | None = None
    # Keys in a PKCS#11 token (agreements/keys.py): the module (.so), the token by label or
    # slot number, its user PIN (or a file holding it), and the keys' labels. Unset: the
    # issuing CA's and TSA's keys are files in PKI_DIR and seals are one-off keys.
    PKCS11_MODULE: str | None = None
    PKCS11_TOKEN_LABEL: str | None = None
    PKCS11_SLOT: int | None = None
    PKCS11_PIN: str | None = None
    PKCS11_PIN_FILE: str | None = None
    PKCS11_ISSUING_KEY_LABEL = "issuing-ca"
    PKCS11_TSA_KEY_LABEL = "tsa"
    PKCS11_PACKAGE_KEY_LABEL = "package-signer"
    PKCS11_SEAL_KEY_PREFIX = "seal-"
    TSA_URL: str | None = None
    PKI_TRUST_ROOTS: ClassVar[list[str]] = []
    # Judicial confirmation: from this sum (yuan) agreed in total, the city's intermediate
    # court is competent too (CPL art 205 (2); the provinces' thresholds differ).
    INTERMEDIATE_COURT_FROM = 50_000_000
    # A new mediator's minimum notice for booking (hours; each mediator may change theirs):
    # short enough to book later the same day.
    BOOKING_MIN_NOTICE_HOURS = 2
    # Early warnings for region staff (mediation/governance/warnings.py): more than this many
    # cases of one category in one street within the window (群体性纠纷), or one respondent
    # named in more than this many cases within the window, across institutions.
    GOVERNANCE_SURGE_CASES = 5
    GOVERNANCE_SURGE_DAYS = 7
    GOVERNANCE_RESPONDENT_CASES = 5
    GOVERNANCE_RESPONDENT_DAYS = 30
    # The rules read a month of a province's cases (1.6-3 s): run at most this often.
    GOVERNANCE_WARNING_EVERY = 600


class DevelopmentConfig(Config):
    ENV_NAME = "development"


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key"  # noqa: S105 - tests only
    ARGON2_PROFILE = "CHEAPEST"  # hashing speed is not what the tests are about
    EMBEDDED_WORKER = False
    EMBEDDED_RECORDER = False  # tests start and stop recorders themselves
    # Tests ask for codes faster than people do; tests of the pacing set these back.
    CODE_INTERVAL_SECONDS = 0
    CODE_LIMIT_PER_RECIPIENT_HOUR = 1000


class ProductionConfig(Config):
    ENV_NAME = "production"
    PKI_CREATE_ROOT = False
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    EMBEDDED_WORKER = False
    EMBEDDED_RECORDER = False
    RECORDER_LOOPBACK = False


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


# MEDIATION_<name> -> (Flask config key, parser). Read when the app is created, not at
# import, so one process can build apps with different environments (tests do).
ENV_SETTINGS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "SECRET_KEY": ("SECRET_KEY", str),
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "REDIS_URL": ("REDIS_URL", str),
    "BASE_URL": ("BASE_URL", str),
    "PROXY_HOPS": ("PROXY_HOPS", int),
    "STORAGE_DIR": ("STORAGE_DIR", str),
    "STORAGE_URL": ("STORAGE_URL", str),
    "S3_ENDPOINT_URL": ("S3_ENDPOINT_URL", str),
    "S3_ACCESS_KEY_ID": ("S3_ACCESS_KEY_ID", str),
    "S3_SECRET_ACCESS_KEY": ("S3_SECRET_ACCESS_KEY", str),
    "S3_REGION": ("S3_REGION", str),
    "S3_ADDRESSING_STYLE": ("S3_ADDRESSING_STYLE", str),
    "SPOOL_DIR": ("SPOOL_DIR", str),
    "DIVISIONS_ADDED": ("DIVISIONS_ADDED", str),
    "SQLITE_BUSY_SECONDS": ("SQLITE_BUSY_SECONDS", float),
    "DEFAULT_LOCALE": ("BABEL_DEFAULT_LOCALE", str),
    "TIMEZONE": ("BABEL_DEFAULT_TIMEZONE", str),
    "LOGIN_LIMIT_PER_ADDRESS": ("LOGIN_LIMIT_PER_ADDRESS", str),
    "LOGIN_LIMIT_PER_ACCOUNT": ("LOGIN_LIMIT_PER_ACCOUNT", str),
    "LOGIN_LIMIT_PER_ACCOUNT_ANYWHERE": ("LOGIN_LIMIT_PER_ACCOUNT_ANYWHERE", str),
    "CODE_INTERVAL_SECONDS": ("CODE_INTERVAL_SECONDS", int),
    "CODE_LIMIT_PER_RECIPIENT_HOUR": ("CODE_LIMIT_PER_RECIPIENT_HOUR", int),
    "CODE_SEND_LIMIT": ("CODE_SEND_LIMIT", str),
    "EVALUATION_COUNT_LIMIT": ("EVALUATION_COUNT_LIMIT", str),
    "COURT_API_LIMIT": ("COURT_API_LIMIT", str),
    "COURT_API_PACKAGE_LIMIT": ("COURT_API_PACKAGE_LIMIT", str),
    "COURT_API_SIGNED_LIMIT": ("COURT_API_SIGNED_LIMIT", str),
    "COURT_API_FAILURE_LIMIT": ("COURT_API_FAILURE_LIMIT", str),
    "SMTP_HOST": ("SMTP_HOST", str),
    "SMTP_PORT": ("SMTP_PORT", int),
    "SMTP_USERNAME": ("SMTP_USERNAME", str),
    "SMTP_PASSWORD": ("SMTP_PASSWORD", str),
    "SMTP_STARTTLS": ("SMTP_STARTTLS", _bool),
    "MAIL_FROM": ("MAIL_FROM", str),
    "SMS_GATEWAY": ("SMS_GATEWAY", str),
    "SMS_URL": ("SMS_URL", str),
    "SMS_TOKEN": ("SMS_TOKEN", str),
    "OUTBOX_POLL_SECONDS": ("OUTBOX_POLL_SECONDS", int),
    "EMBEDDED_WORKER": ("EMBEDDED_WORKER", _bool),
    "ICE_STUN_URLS": ("ICE_STUN_URLS", _list),
    "ICE_TURN_URLS": ("ICE_TURN_URLS", _list),
    "TURN_SECRET": ("TURN_SECRET", str),
    "ICE_TRANSPORT_POLICY": ("ICE_TRANSPORT_POLICY", str),
    "SOCKETIO_CHANNEL": ("SOCKETIO_CHANNEL", str),
    "ROOM_LIMIT_SIGNAL": ("ROOM_LIMIT_SIGNAL", str),
    "ROOM_LIMIT_LOBBY_SIGNAL": ("ROOM_LIMIT_LOBBY_SIGNAL", str),
    "ROOM_LIMIT_CHAT": ("ROOM_LIMIT_CHAT", str),
    "ROOM_LIMIT_MINUTES": ("ROOM_LIMIT_MINUTES", str),
    "ROOM_LIMIT_EVENTS": ("ROOM_LIMIT_EVENTS", str),
    "ROOM_LIMIT_RECORDER": ("ROOM_LIMIT_RECORDER", str),
    "ROOM_LIMIT_CONNECT": ("ROOM_LIMIT_CONNECT", str),
    "ROOM_BROADCAST_TICK": ("ROOM_BROADCAST_TICK", float),
    "SOCKET_LIMIT_PACKETS": ("SOCKET_LIMIT_PACKETS", str),
    "EMBEDDED_RECORDER": ("EMBEDDED_RECORDER", _bool),
    "RECORDER_URL": ("RECORDER_URL", str),
    "RECORDER_MAX_ROOMS": ("RECORDER_MAX_ROOMS", int),
    "RECORDER_LOOPBACK": ("RECORDER_LOOPBACK", _bool),
    "RECORDER_MEDIA_WITHIN": ("RECORDER_MEDIA_WITHIN", float),
    "RECORDER_STALL_SECONDS": ("RECORDER_STALL_SECONDS", float),
    "RECORDER_RESTART_AFTER": ("RECORDER_RESTART_AFTER", float),
    "RECORDER_LAG_LIMIT": ("RECORDER_LAG_LIMIT", float),
    "PKI_DIR": ("PKI_DIR", str),
    "PKI_NAME": ("PKI_NAME", str),
    "PKI_ROOT_PASSPHRASE": ("PKI_ROOT_PASSPHRASE", str),
    "TSA_URL": ("TSA_URL", str),
    "PKCS11_MODULE": ("PKCS11_MODULE", str),
    "PKCS11_TOKEN_LABEL": ("PKCS11_TOKEN_LABEL", str),
    "PKCS11_SLOT": ("PKCS11_SLOT", int),
    "PKCS11_PIN": ("PKCS11_PIN", str),
    "PKCS11_PIN_FILE": ("PKCS11_PIN_FILE", str),
    "HOLIDAYS_FILE": ("HOLIDAYS_FILE", str),
    "PKCS11_ISSUING_KEY_LABEL": ("PKCS11_ISSUING_KEY_LABEL", str),
    "PKCS11_TSA_KEY_LABEL": ("PKCS11_TSA_KEY_LABEL", str),
    "PKCS11_PACKAGE_KEY_LABEL": ("PKCS11_PACKAGE_KEY_LABEL", str),
    "PKCS11_SEAL_KEY_PREFIX": ("PKCS11_SEAL_KEY_PREFIX", str),
    "PKI_TRUST_ROOTS": ("PKI_TRUST_ROOTS", _list),
    "INTERMEDIATE_COURT_FROM": ("INTERMEDIATE_COURT_FROM", int),
    "BOOKING_MIN_NOTICE_HOURS": ("BOOKING_MIN_NOTICE_HOURS", int),
    "GOVERNANCE_SURGE_CASES": ("GOVERNANCE_SURGE_CASES", int),
    "GOVERNANCE_SURGE_DAYS": ("GOVERNANCE_SURGE_DAYS", int),
    "GOVERNANCE_RESPONDENT_CASES": ("GOVERNANCE_RESPONDENT_CASES", int),
    "GOVERNANCE_RESPONDENT_DAYS": ("GOVERNANCE_RESPONDENT_DAYS", int),
    "GOVERNANCE_WARNING_EVERY": ("GOVERNANCE_WARNING_EVERY", int),
}


def select_config(name: str | None = None) -> type[Config]:
    """The config class named by ``name`` or ``MEDIATION_ENV`` (default: development)."""
    name = name or os.environ.get(ENV_PREFIX + "ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigurationError(
            f"{ENV_PREFIX}ENV must be one of {', '.join(CONFIGS)}, not {name!r}"
        ) from None


def from_environment(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The settings given as ``MEDIATION_*`` environment variables, parsed."""
    settings = {}
    for name, (key, parse) in ENV_SETTINGS.items():
        value = environ.get(ENV_PREFIX + name)
        if value not in (None, ""):
            settings[key] = parse(value)
    return settings


def load_secret_key(instance_path: Path) -> str:
    """Return the development secret key, generated once and kept in ``instance/``."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Created with owner-only permissions: the key signs sessions and join links.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def finalize(config: dict[str, Any], instance_path: Path) -> None:
    """Fill in the defaults that depend on the instance folder; refuse unsafe production."""
    if config.get("ENV_NAME") == "production":
        key = config.get("SECRET_KEY")
        if not key or key == DEFAULT_SECRET_PLACEHOLDER or len(key) < 32:
            raise ConfigurationError(
                "Production mode needs MEDIATION_SECRET_KEY: a random value of at least "
                "32 characters (python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        if config.get("SMS_GATEWAY", "console") == "console" or not config.get("SMTP_HOST"):
            raise ConfigurationError(
                "Production mode needs real delivery: MEDIATION_SMS_GATEWAY (http or "
                "package.module:Class) and MEDIATION_SMTP_HOST; the console would swallow "
                "every code and notice."
            )
    elif not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = load_secret_key(instance_path)
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        instance_path.mkdir(parents=True, exist_ok=True)
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance_path / 'mediation.db'}"
    config.setdefault("RATELIMIT_STORAGE_URI", config.get("REDIS_URL") or "memory://")
    if not config.get("STORAGE_DIR"):
        config["STORAGE_DIR"] = str(instance_path / "storage")
    if not config.get("DIVISIONS_ADDED"):
        config["DIVISIONS_ADDED"] = str(instance_path / "divisions-added.csv")
    if not config.get("SPOOL_DIR"):
        config["SPOOL_DIR"] = str(instance_path / "spool")
    if not config.get("PKI_DIR"):
        config["PKI_DIR"] = str(instance_path / "pki")
    _check_keys(config)
    if config.get("ICE_TRANSPORT_POLICY", "all") not in ("all", "relay"):
        raise ConfigurationError("MEDIATION_ICE_TRANSPORT_POLICY must be all or relay.")
    uri = config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://"):  # the scheme some hosting providers hand out
        uri = "postgresql://" + uri.removeprefix("postgres://")
    if uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
    config["SQLALCHEMY_DATABASE_URI"] = uri
    if uri.startswith("sqlite"):
        # One writer at a time: a writer waits for the lock, up to SQLITE_BUSY_SECONDS, in
        # Python, where the web process's other greenlets go on meanwhile (core/sqlite.py).
        from .core.sqlite import engine_options

        config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
            config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}, config["SQLITE_BUSY_SECONDS"]
        )


def _check_keys(config: dict[str, Any]) -> None:
    """Refuse key settings that cannot work, and, in production, a root key left on disk
    unencrypted: whoever reads that file could issue certificates the courts trust."""
    if config.get("PKCS11_MODULE"):
        if not (config.get("PKCS11_TOKEN_LABEL") or config.get("PKCS11_SLOT") is not None):
            raise ConfigurationError(
                "MEDIATION_PKCS11_MODULE needs MEDIATION_PKCS11_TOKEN_LABEL or "
                "MEDIATION_PKCS11_SLOT."
            )
        if not (config.get("PKCS11_PIN") or config.get("PKCS11_PIN_FILE")):
            raise ConfigurationError(
                "MEDIATION_PKCS11_MODULE needs the token's user PIN: MEDIATION_PKCS11_PIN or "
                "MEDIATION_PKCS11_PIN_FILE."
            )
    if config.get("ENV_NAME") != "production":
        return
    from agreements.pki import unencrypted_root_key

    found = unencrypted_root_key(Path(config["PKI_DIR"]))
    if found is not None:
        raise ConfigurationError(
            f"{found} is an unencrypted root key. In production the root key stays offline: "
            "move it to the offline machine (encrypted: `mediation pki init-root`), and issue "
            "the online CA with `mediation pki issue-ca`."
        )
