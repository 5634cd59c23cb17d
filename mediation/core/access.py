"""Access checks for HTTP views; socket handlers use ``has_role`` the same way."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import abort
from flask_login import current_user, login_required

F = TypeVar("F", bound=Callable)


def role_required(*roles: str) -> Callable[[F], F]:
    """Log in first (redirect), then 403 unless the user holds one of ``roles``
    (``accounts.models.Role`` values)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return login_required(wrapped)  # type: ignore[return-value]

    return decorator
