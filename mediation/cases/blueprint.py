"""URL rules of the cases feature."""

from flask import Blueprint

from . import (  # noqa: F401 (notices: signal receivers)
    admin_views,
    agency_views,
    intake_views,
    notices,
    queue_views,
    views,
)

bp = Blueprint("cases", __name__)

bp.add_url_rule("/cases/", view_func=views.my_cases)
bp.add_url_rule("/cases/caseload", view_func=views.caseload)
# Cases waiting for a mediator, for the administrators who give them to one (arts 10, 12).
bp.add_url_rule("/cases/queue", view_func=queue_views.assignment_queue)
bp.add_url_rule("/cases/<int:case_id>/give", view_func=queue_views.give_case, methods=["POST"])
bp.add_url_rule("/cases/<int:case_id>", view_func=views.case_detail)
bp.add_url_rule("/cases/<int:case_id>/steps/<action>", view_func=views.take_step, methods=["POST"])
bp.add_url_rule("/cases/<int:case_id>/choose-again", view_func=views.choose_again, methods=["POST"])
bp.add_url_rule("/cases/<int:case_id>/answer", view_func=views.answer, methods=["POST"])
bp.add_url_rule(
    "/cases/<int:case_id>/failure-record", view_func=views.failure_record, methods=["POST"]
)
bp.add_url_rule("/cases/<int:case_id>/referral.pdf", view_func=views.referral)
bp.add_url_rule(
    "/cases/<int:case_id>/disclosure", view_func=views.disclose_conflict, methods=["POST"]
)
bp.add_url_rule(
    "/cases/<int:case_id>/disclosure/answer", view_func=views.answer_disclosure, methods=["POST"]
)
bp.add_url_rule(
    "/cases/<int:case_id>/change-mediator",
    view_func=views.request_mediator_change,
    methods=["POST"],
)
bp.add_url_rule(
    "/cases/<int:case_id>/extension", view_func=views.propose_extension, methods=["POST"]
)
bp.add_url_rule(
    "/cases/<int:case_id>/extension/consent",
    view_func=views.consent_to_extension,
    methods=["POST"],
)
# Agency: the party's link to confirm or refuse an agent, the mediator's check on camera.
bp.add_url_rule("/agency/<token>", view_func=agency_views.agency_link, methods=["GET", "POST"])
bp.add_url_rule(
    "/cases/<int:case_id>/agents/<int:party_id>/confirm",
    view_func=agency_views.confirm_agent,
    methods=["POST"],
)
# The mediator enters or confirms a party's identity (the party's own: /account).
bp.add_url_rule(
    "/cases/<int:case_id>/parties/<int:party_id>/identity",
    view_func=views.party_identity,
    methods=["POST"],
)
# The personal link in a party's invitation, and the button that sends the code.
bp.add_url_rule("/join/<token>", view_func=views.join, methods=["GET", "POST"])
bp.add_url_rule("/join/<token>/code", view_func=views.join_send_code, methods=["POST"])

bp.add_url_rule("/statistics", view_func=admin_views.statistics_page)
bp.add_url_rule("/statistics.csv", view_func=admin_views.statistics_csv)
bp.add_url_rule("/admin/categories/", view_func=admin_views.category_list)
bp.add_url_rule(
    "/admin/categories/new", view_func=admin_views.category_edit, methods=["GET", "POST"]
)
bp.add_url_rule(
    "/admin/categories/<code>", view_func=admin_views.category_edit, methods=["GET", "POST"]
)

# Filing a dispute, step by step (a draft is saved at every step).
_GET_POST = ["GET", "POST"]
bp.add_url_rule("/cases/new", view_func=intake_views.dispute, methods=_GET_POST)
bp.add_url_rule(
    "/cases/<int:case_id>/intake/dispute",
    endpoint="intake_dispute",
    view_func=intake_views.dispute,
    methods=_GET_POST,
)
for _step in ("respondent", "evidence", "submit"):
    bp.add_url_rule(
        f"/cases/<int:case_id>/intake/{_step}",
        endpoint=f"intake_{_step}",
        view_func=getattr(intake_views, _step),
        methods=_GET_POST,
    )
bp.add_url_rule(
    "/cases/<int:case_id>/evidence/<int:evidence_id>", view_func=intake_views.evidence_file
)
