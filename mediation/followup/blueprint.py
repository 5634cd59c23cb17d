"""URL rules of the follow-up feature, and the case page's performance section."""

from flask import Blueprint
from flask_login import current_user

from . import operations as ops
from . import views
from .forms import KIND_NAMES, RESULT_NAMES, STATUS_NAMES, ConfirmForm, FollowUpForm, prefix

bp = Blueprint("followup", __name__, url_prefix="/followup")

bp.add_url_rule("/missed", view_func=views.missed)
bp.add_url_rule(
    "/obligations/<int:obligation_id>/confirm", view_func=views.confirm, methods=["POST"]
)
bp.add_url_rule(
    "/obligations/<int:obligation_id>/follow-ups", view_func=views.follow_up, methods=["POST"]
)


def performance(case) -> dict | None:
    """What the case page shows of performance, to the case's parties and mediator only
    (None to anyone else, or when nothing is tracked)."""
    if not ops.may_see(current_user, case):
        return None
    obligations = ops.of_case(case)
    if not obligations:
        return None
    return {
        "obligations": obligations,
        "may_confirm": lambda o: ops.may_confirm(current_user, o),
        "may_follow_up": case.mediator_id == current_user.id,
        "enforcement": ops.enforcement_open(case, obligations),
        "confirm_form": lambda o: ConfirmForm(prefix=prefix(o.id), formdata=None),
        "follow_up_form": lambda o: FollowUpForm(prefix=prefix(o.id), formdata=None),
    }


@bp.app_context_processor
def followup_helpers() -> dict:
    """For the case page and the statistics page, which belong to the cases feature."""
    return {
        "performance": performance,
        "obligation_statuses": STATUS_NAMES,
        "follow_up_kinds": KIND_NAMES,
        "follow_up_results": RESULT_NAMES,
    }
