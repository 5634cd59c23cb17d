"""The court portal of clerks and judges."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user

from mediation.accounts.models import Role
from mediation.core.access import role_required


@role_required(Role.court_clerk, Role.judge)
def portal():
    court = current_user.court
    if court is None:
        abort(403)  # court staff always belong to a court
    # Judicial-confirmation applications arrive here with the court issue.
    return render_template("court/portal.html", court=court, applications=[])
