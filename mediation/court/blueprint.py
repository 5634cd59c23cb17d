"""URL rules of the court feature: the portal, and the court API (api.py)."""

from flask import Blueprint

from . import delegation, delegation_views, party_views, views

bp = Blueprint("court", __name__, url_prefix="/court")

_POST = ["POST"]
bp.add_url_rule("/", view_func=views.portal)
bp.add_url_rule("/delegations", view_func=delegation_views.delegations, methods=["GET", "POST"])
bp.add_url_rule(
    "/delegations/<int:delegation_id>/designate",
    view_func=delegation_views.designate,
    methods=_POST,
)
bp.add_url_rule(
    "/delegations/<int:delegation_id>/failure-record.pdf",
    view_func=delegation_views.failure_record,
)
bp.add_url_rule("/applications/<int:application_id>", view_func=views.detail)
bp.add_url_rule(
    "/applications/<int:application_id>/<any(application, decision, unsigned_decision):which>.pdf",
    view_func=views.document,
)
bp.add_url_rule("/applications/<int:application_id>/package.zip", view_func=views.package)
bp.add_url_rule(
    "/applications/<int:application_id>/materials/<int:material_id>", view_func=views.material
)
for name in ("accept", "refuse", "materials", "extend", "rule", "signed"):
    bp.add_url_rule(
        f"/applications/<int:application_id>/{name}", view_func=getattr(views, name), methods=_POST
    )


@bp.app_context_processor
def court_helpers() -> dict:
    """For the agreement's page (agreements feature), which shows judicial confirmation."""
    from .application import competent_courts, next_signature, open_application, window_closes
    from .labels import MATERIAL_NAMES, STATUS_NAMES

    return {
        "delegation_of": delegation.of_case,
        "application_statuses": STATUS_NAMES,
        "material_kinds": MATERIAL_NAMES,
        "confirmation": lambda case: {
            "closes": window_closes(case),
            "courts": competent_courts(case) if case.status == "signed" else [],
            "open": open_application(case),
            "next": (lambda a: next_signature(a) if a else None)(open_application(case)),
        },
    }


# The parties' side, under their case.
parties = Blueprint("confirmation", __name__, url_prefix="/cases/<int:case_id>/confirmation")
parties.add_url_rule("/start", view_func=party_views.start, methods=_POST)
parties.add_url_rule("/sign", view_func=party_views.sign, methods=["GET", "POST"])
parties.add_url_rule("/withdraw", view_func=party_views.withdraw, methods=_POST)
parties.add_url_rule("/materials", view_func=party_views.add_material, methods=_POST)
parties.add_url_rule("/application.pdf", view_func=party_views.document)
parties.add_url_rule("/decision.pdf", view_func=party_views.decision)
parties.add_url_rule("/pages/<int:number>.png", view_func=party_views.page_picture)

# A signer's personal link from the text message (no case in the address: the token says it).
links = Blueprint("confirmation_links", __name__)
links.add_url_rule("/j/<token>", view_func=party_views.personal_link, methods=["GET", "POST"])
