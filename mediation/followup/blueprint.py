"""URL rules of the follow-up feature, and the case page's performance section."""

from flask import Blueprint
from flask_login import current_user

from . import operations as ops
from . import views
from .forms import KIND_NAMES, RESULT_NAMES, STATUS_NAMES

bp = Blueprint("followup", __name__, url_prefix="/followup")

bp.add_url_rule("/missed", view_func=views.missed)
_GET_POST = ["GET", "POST"]
bp.add_url_rule(
    "/obligations/<int:obligation_id>/confirm", view_func=views.confirm, methods=_GET_POST
)
bp.add_url_rule(
    "/obligations/<int:obligation_id>/follow-ups", view_func=views.follow_up, methods=_GET_POST
)

# The obligee's personal link from the text message (short: the token says which obligation).
links = Blueprint("followup_links", __name__)
links.add_url_rule("/o/<token>", view_func=views.personal_link, methods=_GET_POST)


def performance(case) -> dict | None:
    """What the case page shows of performance, to the case's parties and mediator only
    (None to anyone else, or when nothing is tracked)."""
    if not ops.may_see(current_user, case):
        return None
    obligations = ops.of_case(case)
    if not obligations:
        return None
    day = ops.today()
    is_mediator = case.mediator_id == current_user.id
    return {
        "obligations": obligations,
        # The next step, at the top of the case page: what is past its date.
        "to_confirm": [
            o
            for o in obligations
            if ops.may_confirm(current_user, o)
            # An agreement may leave the date open (agreements/draft.py writes "due": None).
            and (o.status != "pending" or (o.due_on is not None and o.due_on <= day))
        ],
        "to_follow_up": [
            o for o in obligations if is_mediator and o.status == "missed" and not o.follow_ups
        ],
        "may_confirm": lambda o: ops.may_confirm(current_user, o),
        "may_follow_up": is_mediator,
        "enforcement": ops.enforcement_open(case, obligations),
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
