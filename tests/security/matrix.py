"""The authorization matrix's table: every URL rule of the platform that names an object (an
id or a token), how to fill it from a tenant's objects (tests/security/world.py), and who
reaches that object; test_authorization_matrix.py asks everyone else and must be refused
(:func:`refused`), and asks these and must get through.

A new URL rule with a parameter fails
``test_authorization_matrix.py::test_every_route_with_a_parameter_is_in_the_table`` until it
gets an entry here (or an exemption in :data:`EXEMPT`, with the reason).

Personal links and tokens are capabilities by design: whoever holds the link of a session,
the minutes, the agreement, or a party's invitation may see its first page and ask for a
code to the owner's phone (which proves the person); a mediator's calendar feed URL is the
secret itself. Such entries say so (``ANYONE``), and for them the check is that a visitor
logged in as somebody else gets nothing of the case out of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask

from tests.security.world import TENANT_ROLES, Tenant

ANONYMOUS = "anonymous"
PLATFORM = "platform_admin"
API = "api"  # a court API bearer token of the tenant's court

PARTIES = frozenset({"applicant", "respondent"})
# cases.operations.can_view: the parties, the mediator, the institution's administrators,
# platform administrators. Court staff reach a case only through their court's portal.
CASE = PARTIES | {"mediator", "admin", PLATFORM}
COURT = frozenset({"clerk", "judge"})
# A personal link or a secret URL: whoever holds it (see the module's docstring).
ANYONE = frozenset({ANONYMOUS, PLATFORM, *TENANT_ROLES})


@dataclass(frozen=True)
class Entry:
    """How to fill one endpoint's URL from a tenant's objects, and who reaches it."""

    args: Callable[[Tenant], dict]
    allowed: frozenset[str]  # roles towards the tenant's objects, ANONYMOUS, PLATFORM, API
    why: str
    # Who may POST, when not the same as who may GET.
    allowed_post: frozenset[str] | None = None
    # What a POST carries besides the CSRF token.
    form: Callable[[Tenant], dict] | None = None
    # An empty form from an allowed role may be refused by the operation itself (403: "you
    # may not take this step now"), after access was granted.
    business_403: bool = False
    # The allowed probe changes the mirror tenant in a way later probes would notice.
    destructive: bool = False

    def who(self, method: str) -> frozenset[str]:
        return self.allowed_post if method == "POST" and self.allowed_post else self.allowed


def _case(t):
    return {"case_id": t.ids["case"]}


def _session(name):
    return lambda t: {"session_id": t.ids[name]}


def _token(name):
    return lambda t: {"token": t.ids[name]}


def _question(t):
    return {"question_id": t.ids["question"]}


def _talk(t):
    return {"booking_id": t.ids["reception_booking"]}


def _application(t):
    return {"application_id": t.ids["application"]}


MEDIATOR = frozenset({"mediator"})
CASE_STEP = {"allowed": CASE, "business_403": True}
# A consultation question (tests/security/world.py): its asker (the applicant), the experts
# of its pool (the tenant's mediator and a lawyer), the platform; the tenant's institution is
# in another province, so its administrators are not among them.
EXPERTS = frozenset({"mediator", "expert"})
ASKED = frozenset({"applicant", PLATFORM}) | EXPERTS

MATRIX: dict[str, Entry] = {
    # -- cases -----------------------------------------------------------------------------
    "cases.case_detail": Entry(_case, CASE, "who may see the case (can_view)"),
    "cases.take_step": Entry(
        lambda t: {**_case(t), "action": "terminate"}, why="the case's steps", **CASE_STEP
    ),
    "cases.answer": Entry(_case, why="the respondent's answer", **CASE_STEP),
    "cases.failure_record": Entry(_case, why="the mediator's art 21 record", **CASE_STEP),
    "cases.disclose_conflict": Entry(_case, why="art 13 disclosure", **CASE_STEP),
    "cases.answer_disclosure": Entry(_case, why="art 13 disclosure", **CASE_STEP),
    "cases.request_mediator_change": Entry(_case, why="art 14", **CASE_STEP),
    "cases.propose_extension": Entry(_case, why="art 24 extension", **CASE_STEP),
    "cases.consent_to_extension": Entry(_case, why="art 24 extension", **CASE_STEP),
    "cases.referral": Entry(
        lambda t: {"case_id": t.ids["failed"]},
        PARTIES | MEDIATOR,
        "the art 21 record's PDF: the parties and the mediator only",
    ),
    "cases.evidence_file": Entry(
        lambda t: {**_case(t), "evidence_id": t.ids["evidence"]},
        frozenset({"applicant", "mediator", "admin", PLATFORM}),
        "a file the applicant did not share: not the other side (privacy.may_see_evidence)",
    ),
    **{
        f"cases.intake_{step}": Entry(
            lambda t: {"case_id": t.ids["draft"]},
            frozenset({"applicant"}),
            "a draft is the applicant's alone",
        )
        for step in ("dispute", "respondent", "evidence", "submit")
    },
    "cases.join": Entry(
        _token("invitation"),
        ANYONE,
        "capability: the invitation's page; entering needs the code sent to the invitee",
    ),
    "cases.join_send_code": Entry(
        _token("invitation"), ANYONE, "capability: sends a code to the invitee's phone only"
    ),
    "cases.agency_link": Entry(
        _token("agency_link"),
        frozenset({ANONYMOUS, "applicant"}),
        "capability for a visitor (the code goes to the party the agent names); anyone logged "
        "in as somebody else is sent to the login page",
    ),
    "cases.confirm_agent": Entry(
        lambda t: {"case_id": t.ids["agency_case"], "party_id": t.ids["agent_party"]},
        MEDIATOR,
        "the case's mediator checked the power of attorney on camera (the party confirms "
        "from their own link)",
        destructive=True,
    ),
    "cases.party_identity": Entry(
        lambda t: {**_case(t), "party_id": t.ids["respondent_party"]},
        MEDIATOR,
        "the case's mediator enters or confirms a party's identity from the card on camera "
        "(the party gives their own on /account)",
    ),
    "cases.category_edit": Entry(
        lambda t: {"code": "neighbourhood"}, frozenset({PLATFORM}), "platform settings"
    ),
    "notify.retry": Entry(
        lambda t: {"message_id": t.ids["message"]}, frozenset({PLATFORM}), "the outbox"
    ),
    "accounts.reassign_case": Entry(
        _case,
        frozenset({"admin"}),
        "the administrators of the case's institution",
        form=lambda t: {"mediator_id": t.ids["mediator_id"]},
    ),
    "cases.choose_again": Entry(
        _case,
        why="art 12 para 2: the applicant chooses another institution (the operation "
        "refuses everyone else, and before a lapse)",
        **CASE_STEP,
    ),
    "cases.give_case": Entry(
        _case,
        frozenset({"admin", PLATFORM}),
        "the assignment queue: the case's institution's administrators, or the platform's",
        form=lambda t: {"mediator_id": t.ids["mediator_id"]},
    ),
    # -- agreements ------------------------------------------------------------------------
    "agreements.page": Entry(_case, CASE, "can_view"),
    "agreements.document": Entry(_case, CASE, "can_view"),
    "agreements.page_picture": Entry(lambda t: {**_case(t), "number": 1}, CASE, "can_view"),
    "agreements.start": Entry(
        _case, why="can_view; the operation lets the mediator alone start", **CASE_STEP
    ),
    "agreements.save": Entry(_case, MEDIATOR, "the case's mediator drafts"),
    "agreements.preview": Entry(_case, MEDIATOR, "the case's mediator drafts"),
    "agreements.comment": Entry(_case, why="can_view; the agreement is in force", **CASE_STEP),
    "agreements.sign": Entry(_case, CASE, "can_view; the signer's turn is checked after"),
    "agreements.personal_link": Entry(
        _token("agreement_link"),
        frozenset({ANONYMOUS, "applicant"}),
        "capability for a visitor (the code goes to the signer); anyone logged in as "
        "somebody else is refused, offered only to log out on that device",
    ),
    # -- judicial confirmation, the parties' side ------------------------------------------
    "confirmation_links.personal_link": Entry(
        _token("application_link"),
        frozenset({ANONYMOUS, "applicant"}),
        "capability for a visitor (the code goes to the signer); anyone logged in as "
        "somebody else is refused, offered only to log out on that device",
    ),
    "confirmation.start": Entry(_case, why="can_view; parties apply", **CASE_STEP),
    "confirmation.sign": Entry(_case, CASE, "can_view; the signer's turn is checked after"),
    "confirmation.withdraw": Entry(
        _case, why="can_view; the parties withdraw", destructive=True, **CASE_STEP
    ),
    "confirmation.add_material": Entry(_case, why="can_view; parties add", **CASE_STEP),
    "confirmation.document": Entry(_case, CASE, "can_view"),
    "confirmation.page_picture": Entry(lambda t: {**_case(t), "number": 1}, CASE, "can_view"),
    "confirmation.decision": Entry(
        _case,
        PARTIES,
        "the court's decision, for the parties (none is ruled in this world: the parties "
        "get past the access check to a 404, everyone else a 403 or 404)",
    ),
    # -- the court portal and API ----------------------------------------------------------
    "court.detail": Entry(_application, COURT, "staff of the court applied to"),
    "court.document": Entry(
        lambda t: {**_application(t), "which": "application"}, COURT, "the court applied to"
    ),
    "court.material": Entry(
        lambda t: {**_application(t), "material_id": t.ids["material"]}, COURT, "the court"
    ),
    "court.package": Entry(_application, COURT, "the court applied to"),
    "court.accept": Entry(_application, COURT, "the court applied to", destructive=True),
    "court.refuse": Entry(_application, COURT, "the court applied to", destructive=True),
    "court.materials": Entry(_application, COURT, "the court applied to"),
    "court.extend": Entry(_application, frozenset({"judge"}), "the court's judges"),
    "court.rule": Entry(_application, frozenset({"judge"}), "the court's judges"),
    "court.signed": Entry(
        _application, frozenset({"judge"}), "the court's judges upload the signed decision"
    ),
    "court_api.get_application": Entry(_application, frozenset({API}), "the court's token"),
    "court_api.get_package": Entry(_application, frozenset({API}), "the court's token"),
    "court_api.post_acceptance": Entry(
        _application, frozenset({API}), "the court's token", destructive=True
    ),
    "court_api.post_ruling": Entry(_application, frozenset({API}), "the court's token"),
    "court_api.get_unsigned_decision": Entry(
        _application,
        frozenset({API}),
        "the court's token (nothing awaits the court's signature in this world: the token "
        "gets past the access check to a 404)",
    ),
    "court_api.post_signed_decision": Entry(
        _application,
        frozenset({API}),
        "the court's token (the probe's JSON body is not a PDF: 415 after access)",
    ),
    "accounts.court_roots": Entry(
        lambda t: {"court_id": t.ids["court_id"]},
        frozenset({PLATFORM}),
        "the platform administrator sets a court's trust roots",
    ),
    "court_api.get_decision": Entry(
        _application,
        frozenset({API}),
        "the court's token (nothing is ruled in this world: the court's token gets 409 "
        "not_ruled, everyone else 401 or 404)",
    ),
    "court_api.material_requests": Entry(_application, frozenset({API}), "the court's token"),
    "court_api.get_material_request": Entry(
        lambda t: {**_application(t), "request_id": t.ids["material_request"]},
        frozenset({API}),
        "the court's token",
    ),
    "court_api.post_extension": Entry(_application, frozenset({API}), "the court's token"),
    "court.failure_record": Entry(
        lambda t: {"delegation_id": t.ids["delegation"]},
        COURT,
        "the delegating court's staff (still mediating: told so, back to the list)",
    ),
    "court.designate": Entry(
        lambda t: {"delegation_id": t.ids["delegation"]},
        COURT,
        "the delegating court's staff (nothing lapsed: told so, back to the list)",
        form=lambda t: {"institution_id": "0"},
    ),
    "court_api.delegations.post_designation": Entry(
        lambda t: {"delegation_id": t.ids["delegation"]},
        frozenset({API}),
        "the court's token (nothing lapsed: 409 after access)",
    ),
    "court_api.delegations.get_delegation": Entry(
        lambda t: {"delegation_id": t.ids["delegation"]}, frozenset({API}), "the court's token"
    ),
    "court_api.delegations.get_failure_record": Entry(
        lambda t: {"delegation_id": t.ids["delegation"]},
        frozenset({API}),
        "the court's token (the delegation is still mediating: 409 after access)",
    ),
    # -- sessions --------------------------------------------------------------------------
    "booking.separate_sessions": Entry(_case, why="art 16 consent, can_view", **CASE_STEP),
    "booking.new_session": Entry(_case, MEDIATOR, "the case's mediator books"),
    "booking.start_now": Entry(
        _case,
        MEDIATOR,
        "the case's mediator starts a session at once (the empty form: the parties' "
        "agreement is missing, nothing starts)",
    ),
    "booking.feed": Entry(_token("feed"), ANYONE, "capability: the feed URL is the secret"),
    "booking.remove_entry": Entry(
        lambda t: {"kind": "rules", "entry_id": t.ids["rule"]}, MEDIATOR, "the mediator's own"
    ),
    **{
        f"booking.{name}": Entry(
            _token("session_link"),
            frozenset({ANONYMOUS, "applicant"}),
            "capability for a visitor (the time; entering needs the code); anyone logged "
            "in as somebody else is refused before anything of the session, even a "
            "cancelled one, offered only to log out on that device",
        )
        for name in ("join", "device_check", "choose", "send_code", "enter", "verify", "ping")
    },
    "booking.session_ics": Entry(
        _session("upcoming"), PARTIES | MEDIATOR, "the session's participants"
    ),
    "booking.reschedule": Entry(_session("upcoming"), MEDIATOR, "the session's mediator"),
    "booking.invite_guest": Entry(_session("upcoming"), MEDIATOR, "the session's mediator"),
    "booking.cancel": Entry(
        _session("upcoming"), MEDIATOR, "the session's mediator", destructive=True
    ),
    "booking.resend_links": Entry(
        _session("upcoming"), MEDIATOR, "the session's mediator", destructive=True
    ),
    "rooms.room": Entry(_session("joint"), PARTIES | MEDIATOR, "the session's participants"),
    # -- minutes ---------------------------------------------------------------------------
    "minutes.page": Entry(
        _session("joint"), CASE, "can_view; the mediator writes", allowed_post=MEDIATOR
    ),
    "minutes.document": Entry(_session("joint"), CASE, "can_view"),
    "minutes.send_for_review": Entry(_session("joint"), MEDIATOR, "the session's mediator"),
    "minutes.close": Entry(_session("joint"), MEDIATOR, "the session's mediator"),
    "minutes.answer": Entry(
        _session("side"),
        frozenset({"applicant"}),
        "those who attended review (the applicant's side session: the applicant alone)",
    ),
    "minutes.personal_link": Entry(
        _token("minutes_link"),
        frozenset({ANONYMOUS, "applicant"}),
        "capability for a visitor (the code goes to the attendee); anyone logged in as "
        "somebody else is sent to the login page",
    ),
    # -- consultation ----------------------------------------------------------------------
    "consultation.question": Entry(
        _question, ASKED, "the asker, the experts of its pool, the region's administrators"
    ),
    "consultation.attachment": Entry(
        lambda t: {**_question(t), "attachment_id": t.ids["question_file"]},
        ASKED,
        "as the question",
    ),
    "consultation_links.personal_link": Entry(
        _token("question_link"),
        frozenset({ANONYMOUS, "applicant"}),
        "capability for a visitor (the code goes to the asker); anyone logged in as "
        "somebody else is refused, offered only to log out on that device",
    ),
    "consultation.take": Entry(_question, EXPERTS, "an expert of the pool"),
    "consultation.answer": Entry(_question, EXPERTS, "an expert of the pool"),
    # Freed from the expert who took it (consultation/handover.py). The world's question is
    # open: each is refused by the operation itself to an allowed role (nobody holds it).
    "consultation.give_back": Entry(
        _question,
        EXPERTS,
        "the expert who holds it (403 to the rest of the pool)",
        business_403=True,
    ),
    "consultation.take_over": Entry(
        _question, EXPERTS, "a colleague of the pool, once it is late", business_403=True
    ),
    "consultation.put_back": Entry(
        _question,
        frozenset({PLATFORM}),
        "the region's administrators (the tenant's institution is of another province)",
        business_403=True,
    ),
    "consultation.to_case": Entry(
        _question,
        frozenset({"applicant"}),
        "the asker alone turns their question into their case",
        destructive=True,
    ),
    # -- reception talks --------------------------------------------------------------------
    "reception.booking": Entry(
        _talk, frozenset({"applicant", "mediator"}), "the booker and the host of the talk only"
    ),
    "reception.cancel": Entry(
        _talk, frozenset({"applicant"}), "the booker alone calls it off", destructive=True
    ),
    "reception.record": Entry(_talk, MEDIATOR, "the host alone records the talk"),
    # -- follow-up of performance -----------------------------------------------------------
    "followup.confirm": Entry(
        lambda t: {"obligation_id": t.ids["obligation"]},
        frozenset({"applicant"}),
        "the obligee of this obligation alone (the applicant is owed the payment)",
    ),
    "followup_links.personal_link": Entry(
        _token("obligation_link"),
        frozenset({ANONYMOUS, "applicant"}),
        "capability for a visitor (the code goes to the obligee); anyone logged in as "
        "somebody else is refused, offered only to log out on that device",
    ),
    "followup.follow_up": Entry(
        lambda t: {"obligation_id": t.ids["obligation"]}, MEDIATOR, "the case's mediator"
    ),
    # -- journal and recordings ------------------------------------------------------------
    "journal.case_journal": Entry(_case, CASE, "can_view (redacted for a party)"),
    "journal.case_journal_json": Entry(_case, CASE, "can_view (redacted for a party)"),
    "recording.case_recordings": Entry(_case, CASE, "can_view; each file checked on its own"),
    "recording.recording_file": Entry(
        lambda t: {"recording_id": t.ids["recording"]},
        PARTIES | MEDIATOR | COURT,
        "the case's parties and mediator, and the court examining its application "
        "(recording.access.playable); not administrators",
    ),
    "recording.review_file": Entry(
        _session("joint"), PARTIES | MEDIATOR | COURT, "as recordings (review_videos)"
    ),
}

# Allowed roles get past the access check to a 404: the world has no such document yet.
NOTHING_YET = {"confirmation.decision", "court_api.get_unsigned_decision"}

# URL rules with a parameter that name no object of a tenant.
EXEMPT = {
    "static": "public files of the application (CSS, JavaScript, fonts): nobody's data",
    "agreements.crl": "the CA's public CRLs (tests/agreements/test_crl_views.py): nobody's data",
    "reception.book": "a host's public booking page: anyone may book any host listed on the "
    "public reception page (tests/reception/test_reception.py)",
}

REFUSED = {401, 403, 404, 410}


def rules_with_parameters(app: Flask) -> dict[str, list]:
    found: dict[str, list] = {}
    for rule in app.url_map.iter_rules():
        if rule.arguments:
            found.setdefault(rule.endpoint, []).append(rule)
    return found


def refused(response) -> bool:
    if response.status_code in REFUSED:
        return True
    location = response.headers.get("Location", "")
    return response.status_code in (302, 303) and urlsplit(location).path == "/login"
