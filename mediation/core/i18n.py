"""Language selection: the visitor's explicit choice, else their account's, else Chinese."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # a worker or a command: the platform's language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    # ?lang= lets a link in an SMS or e-mail open in the recipient's language.
    asked = request.args.get("lang")
    if asked in languages:
        return asked
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def html_lang(locale: str) -> str:
    """The BCP 47 tag for <html lang>: zh_Hans_CN -> zh-Hans-CN."""
    return locale.replace("_", "-")
