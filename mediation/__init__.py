"""The online dispute-mediation platform: ``create_app`` builds the Flask application."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from .config import ENV_PREFIX, finalize, from_environment, select_config
from .core import divisions, hardening, storage
from .core.assets import asset_dir
from .extensions import babel, csrf, db, limiter, login_manager, migrate, socketio

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"


class DatabaseIdConverter(IntegerConverter):
    def __init__(self, url_map, fixed_digits: int = 0, min: int = 1, max: int = 2**31 - 1):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max)


def create_app(config: str | Mapping[str, Any] | None = None) -> Flask:
    """Build the app.

    ``config`` is a mode name (development, testing, production) or a mapping of settings
    that override the mode (``ENV_NAME`` in it picks the mode); ``MEDIATION_*``
    environment variables apply in between.
    """
    overrides = dict(config) if isinstance(config, Mapping) else {}
    mode = config if isinstance(config, str) else overrides.get("ENV_NAME")
    instance_path = overrides.pop("INSTANCE_PATH", None) or os.environ.get(
        ENV_PREFIX + "INSTANCE_PATH"
    )
    app = Flask(
        __name__,
        template_folder=str(asset_dir("templates")),
        static_folder=str(asset_dir("static")),
        instance_path=_instance_path(instance_path),
        instance_relative_config=True,
    )
    app.config.from_object(select_config(mode))
    app.config.update(from_environment())
    app.config.update(overrides)
    finalize(app.config, Path(app.instance_path))
    load_holidays(app)
    divisions.configure(app.config["DIVISIONS_ADDED"])

    # Ids in URLs stop at PostgreSQL's integer range: a larger one is a 404 there, as on
    # SQLite, instead of a database error.
    app.url_map.converters["int"] = DatabaseIdConverter
    if app.config["PROXY_HOPS"]:
        # Behind N reverse proxies the client's address (rate limits) and scheme come from
        # their X-Forwarded-* headers; without proxies those headers are not trusted.
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    register_extensions(app)
    storage.init_app(app)  # the folder, or S3-compatible object storage (STORAGE_URL)
    hardening.init_app(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def _instance_path(configured: str | None) -> str | None:
    return str(Path(configured).resolve()) if configured else None


def installed_pki_dir() -> Path:
    """The PKI_DIR ``create_app()`` would use, found without building the app.

    Building it makes the instance folder and, in development, a secret key there: a
    command that only looks for the platform's CA (verification on a court's machine)
    must write nothing, so it asks here first.
    """
    configured = os.environ.get(ENV_PREFIX + "PKI_DIR")
    if configured:
        return Path(configured)
    # A bare Flask object finds the instance folder exactly as create_app's does.
    instance = os.environ.get(ENV_PREFIX + "INSTANCE_PATH")
    return Path(Flask(__name__, instance_path=_instance_path(instance)).instance_path) / "pki"


def load_holidays(app: Flask) -> None:
    """The operator's holiday file, read once: a mistake in it stops the start, since every
    deadline and bookable day would follow it (mediation/cases/holidays.py)."""
    from .cases import clocks, holidays
    from .config import ConfigurationError

    try:
        found = holidays.configured(app.config["HOLIDAYS_FILE"], Path(app.instance_path))
    except holidays.HolidayFileError as error:
        raise ConfigurationError(f"The holiday file (MEDIATION_HOLIDAYS_FILE): {error}") from None
    app.extensions[clocks.SUPPLEMENT] = found


def register_extensions(app: Flask) -> None:
    # Every table first: a module below reads a relationship when it is imported, and the
    # mappers are configured then, which needs every class they name to be known.
    from . import models  # noqa: F401  (also for Alembic's metadata)
    from .core.i18n import select_locale, select_timezone

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(PACKAGE_DIR / "translations"),
    )
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    from signaling import guard
    from signaling import limits as room_limits

    # With the Redis message queue, several web processes share Socket.IO rooms. The
    # extension is one object for every app this process builds (tests build many), and
    # Flask-SocketIO keeps the queue it made for one app in its options for the next.
    socketio.server_options.pop("client_manager", None)
    socketio.init_app(
        app,
        async_mode=_async_mode(),
        message_queue=app.config.get("REDIS_URL"),
        channel=app.config["SOCKETIO_CHANNEL"],
        # Signaling messages are small; a larger packet closes the connection.
        max_http_buffer_size=1_000_000,
        # Every client of the platform speaks WebSocket (docs/signaling.md); long-polling
        # would only be one more way in for malformed payloads.
        transports=["websocket"],
        # Malformed frames and packets close their connection, without a traceback.
        json=guard.SafeJSON,
        serializer=guard.CheckedPacket,
        # Each connection's events are handled in turn by the greenlet reading it, in the
        # order sent (an offer before its ICE candidates), with no greenlet spawned per
        # event (issue 18). A slow event delays only its own connection's next ones.
        async_handlers=False,
    )
    guard.install(socketio.server, app.config["SOCKET_LIMIT_PACKETS"])
    room_limits.init_app(app)
    # Other web processes drop their readings of a room this one changes (rooms/cache.py).
    from .rooms import cache as room_cache

    room_cache.init_app(app)
    from signaling.rooms import NAMESPACE, RoomNamespace, on_error

    socketio.on_namespace(RoomNamespace(NAMESPACE))
    socketio.on_error(NAMESPACE)(on_error)


def _async_mode() -> str:
    """gevent in the web process (signaling/server.py patched the standard library first),
    threads everywhere else: a worker, the CLI, tests. Flask-SocketIO would pick gevent
    merely because it is installed, and gevent without patching blocks."""
    import sys

    monkey = sys.modules.get("gevent.monkey")
    return "gevent" if monkey is not None and monkey.is_module_patched("socket") else "threading"


def register_blueprints(app: Flask) -> None:
    from .accounts.blueprint import bp as accounts_bp
    from .agreements.blueprint import bp as agreements_bp
    from .booking.blueprint import bp as booking_bp
    from .cases.blueprint import bp as cases_bp
    from .consultation.blueprint import bp as consultation_bp
    from .consultation.blueprint import links as consultation_links_bp
    from .core.views import bp as core_bp
    from .core.views import database_busy, render_error
    from .court.api import api as court_api_bp
    from .court.blueprint import bp as court_bp
    from .court.blueprint import links as confirmation_links_bp
    from .court.blueprint import parties as confirmation_bp
    from .evaluation.blueprint import bp as evaluation_bp
    from .followup.blueprint import bp as followup_bp
    from .followup.blueprint import links as followup_links_bp
    from .governance.blueprint import bp as governance_bp
    from .journal.blueprint import bp as journal_bp
    from .minutes.blueprint import bp as minutes_bp
    from .notify.blueprint import bp as notify_bp
    from .reception.blueprint import bp as reception_bp
    from .recording.blueprint import bp as recording_bp
    from .rooms.blueprint import bp as rooms_bp

    for blueprint in (
        core_bp,
        accounts_bp,
        cases_bp,
        booking_bp,
        rooms_bp,
        recording_bp,
        minutes_bp,
        agreements_bp,
        journal_bp,
        notify_bp,
        court_bp,
        court_api_bp,
        confirmation_bp,
        confirmation_links_bp,
        evaluation_bp,
        consultation_bp,
        consultation_links_bp,
        reception_bp,
        followup_bp,
        followup_links_bp,
        governance_bp,
    ):
        app.register_blueprint(blueprint)
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(OperationalError, database_busy)


def register_commands(app: Flask) -> None:
    from .cli import register_commands as register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from flask_babel import get_locale

    from .accounts.forms import ethnicity_choices
    from .accounts.labels import COURT_LEVEL_NAMES, ROLE_NAMES, SEX_NAMES, ethnicity_label
    from .cases.categories import category_name
    from .cases.labels import (
        SIDE_NAMES,
        STATUS_NAMES,
        STEP_NAMES,
        TERMINATION_REASONS,
        journal_label,
    )
    from .core.i18n import (
        date_filter,
        datetime_filter,
        format_clock,
        format_day,
        format_when,
        html_lang,
        localtime,
        zone_name,
    )
    from .core.views import text_large
    from .journal.labels import BREAK_REASONS

    def holidays_missing() -> int | None:
        from zoneinfo import ZoneInfo

        from .cases.clocks import missing_year
        from .core.db import utcnow

        zone = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])
        return missing_year(utcnow().astimezone(zone).date())

    app.jinja_env.globals.update(
        holidays_missing=holidays_missing,
        role_names=ROLE_NAMES,
        court_levels=COURT_LEVEL_NAMES,
        case_statuses=STATUS_NAMES,
        sides=SIDE_NAMES,
        category_name=category_name,
        break_reasons=BREAK_REASONS,
        step_names=STEP_NAMES,
        termination_reasons=TERMINATION_REASONS,
        journal_label=journal_label,
        sex_names=SEX_NAMES,
        ethnicity_label=ethnicity_label,
        ethnicity_choices=ethnicity_choices,
    )
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["division"] = divisions.of_code
    # One way of writing days and times (core.i18n): |day, |when, |clock, zone_name(); the
    # Flask-Babel filters some pages still use write named formats the same way.
    app.jinja_env.filters.update(
        day=format_day,
        when=format_when,
        clock=format_clock,
        datetimeformat=datetime_filter,
        dateformat=date_filter,
    )
    app.jinja_env.globals["zone_name"] = zone_name

    @app.context_processor
    def inject_locale() -> dict[str, Any]:
        locale = str(get_locale())
        return {
            "current_locale": locale,
            "html_lang": html_lang(locale),
            "text_large": text_large(),
        }
