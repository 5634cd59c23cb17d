"""URL rules of the agreement feature."""

from flask import Blueprint

from mediation.cases import signals

from . import operations, pki_views, verify_views, views

bp = Blueprint("agreements", __name__)

_POST = ["POST"]
bp.add_url_rule("/cases/<int:case_id>/agreement", view_func=views.page)
bp.add_url_rule("/cases/<int:case_id>/agreement/start", view_func=views.start, methods=_POST)
bp.add_url_rule("/cases/<int:case_id>/agreement/save", view_func=views.save, methods=_POST)
bp.add_url_rule("/cases/<int:case_id>/agreement/preview", view_func=views.preview, methods=_POST)
bp.add_url_rule("/cases/<int:case_id>/agreement/comment", view_func=views.comment, methods=_POST)
bp.add_url_rule("/cases/<int:case_id>/agreement.pdf", view_func=views.document)
bp.add_url_rule(
    "/cases/<int:case_id>/agreement/pages/<int:number>.png", view_func=views.page_picture
)
bp.add_url_rule(
    "/cases/<int:case_id>/agreement/sign", view_func=views.sign, methods=["GET", "POST"]
)
bp.add_url_rule("/verify", view_func=verify_views.verify, methods=["GET", "POST"])
bp.add_url_rule("/verify/root", view_func=verify_views.root)
bp.add_url_rule("/verify/root.pem", view_func=verify_views.root_pem)
bp.add_url_rule("/a/<token>", view_func=views.personal_link, methods=["GET", "POST"])
bp.add_url_rule("/pki/<name>", view_func=pki_views.crl)


@signals.status_changed.connect
def _signing_follows_the_case(case, source: str, action: str, **_: object) -> None:
    operations.case_moved(case, source=source, action=action)


@signals.mediator_changed.connect
def _signing_follows_the_mediator(case, previous: int | None = None, **_: object) -> None:
    operations.mediator_changed(case)


@signals.agent_refused.connect
def _signing_follows_the_agents(case, user_id: int, **_: object) -> None:
    operations.agent_refused(case, user_id)
