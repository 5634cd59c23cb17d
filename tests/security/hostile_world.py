"""A populated platform to attack, and a crawler that logs in as each role and collects every
page it reaches and every form on them (used by the hostile-input fuzzer and the header
checks).

The world: a case whose agreement is in force with a joint application before the competent
court (clerk, judge), a second case of the same mediator in mediation with an ended session,
its minutes and evidence, an applicant's unsubmitted draft, and a platform administrator."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field, replace
from datetime import time
from html.parser import HTMLParser
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from mediation.accounts.models import Role
from mediation.booking import links
from mediation.booking.availability import add_rule
from mediation.cases import agency, intake, workflow
from mediation.cases.models import CaseParty, FailureRecord
from mediation.cases.states import Action, Actor, TerminationReason
from mediation.core.db import utcnow
from mediation.court import api as court_api
from mediation.court import delegation as delegating
from mediation.court import examination, materials, ruling
from mediation.extensions import db
from mediation.followup import links as followup_links
from mediation.followup import operations as followup
from mediation.reception import operations as reception
from tests.conftest import login
from tests.court.conftest import apply_jointly, in_force
from tests.factories import PASSWORD, make_case, make_mediating_case, make_user
from tests.minutes.conftest import ended_session

ROLES = (
    "anonymous",
    "applicant",
    "respondent",
    "mediator",
    "institution_admin",
    "clerk",
    "judge",
    "platform_admin",
    "governance",
)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@dataclass
class World:
    phones: dict[str, str]
    # Values for the URL rules' variables, by variable name: real ids and tokens.
    values: dict[str, list[str]]
    # The court's token for /api/court/v1 (its clerk and judge use it).
    api_token: str


def build(app: Flask) -> World:
    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        material = materials.add_material(
            application,
            "identity",
            "身份证\u202egpj.exe.png",
            png(),
            by=world.case.party_users()[0],
        )
        case = world.case
        applicant, respondent = case.party_users()
        mediating = make_mediating_case(mediator=case.mediator)
        session = ended_session(mediating)
        evidence = intake.add_evidence(
            mediating,
            by=mediating.party_users()[0],
            filename="\u202egpj.exe.png",
            data=png(),
            shared=True,
        )
        draft = make_case(applicant, make_user(), submit=False)
        admin = make_user(Role.institution_admin, institution_id=case.institution_id)
        platform = make_user(Role.platform_admin)
        party_participant = next(p for p in session.participants if p.role == "party")
        api_token = court_api.new_token(world.court, "hostile input")
        # The court asked for materials; and it ruled on a second case, so that a decision
        # and a package with it are there to be reached (court API, portal, parties).
        material_request = examination.request_materials(application, "请提供房产证", 5, by=None)
        ruled = apply_jointly(replace(in_force(), court=world.court))
        examination.accept(ruled, by=world.clerk)
        ruling.rule(ruled, True, None, "协议合法有效", by=world.judge)
        # An agent the mediating case's applicant has not confirmed yet (cases/agency.py).
        agent = CaseParty(
            user=make_user(), side="applicant", is_agent=True, represents=mediating.party_users()[0]
        )
        mediating.parties.append(agent)
        db.session.flush()
        agency_token = agency.link_for(agent).rsplit("/", 1)[1]
        # A consultation question of the applicant's, in the pool the mediator answers in.
        from mediation.consultation import operations as consultation

        consultation.make_expert(
            case.mediator,
            kind="mediator",
            region_code="320000",
            categories_=[],
            languages=[],
            hours="",
        )
        question = consultation.ask(
            applicant,
            category="neighbourhood",
            region_code="320000",
            subject="漏水",
            text="楼上漏水",
            files=[("\u202egpj.exe.png", png())],
        )
        # The asker's personal link to the question and its answer (its SMS carries it).
        from mediation.consultation import links as consultation_links

        answer_token = consultation_links.answer_link(question).rsplit("/", 1)[1]
        # The obligee's personal link to confirm the agreement's payment performed.
        obligation = followup.of_case(case)[0]
        obligation_token = followup_links.link_for(obligation, obligation.obligee.user)
        obligation_token = obligation_token.rsplit("/", 1)[1]
        # A dispute the court delegated, ended without agreement, with the art 21 record.
        delegated = delegating.delegate(
            world.court,
            delegating.DelegationInput(
                reference="（2026）苏0102民诉前调7号",
                category="neighbourhood",
                title="漏水",
                applicants=[delegating.PartyInput("委派申请人", make_user().phone)],
                respondents=[delegating.PartyInput("委派被申请人", make_user().phone)],
            ),
        )
        workflow.transition(
            delegated.case,
            Action.terminate,
            by=None,
            acting_as=Actor.system,
            reason=TerminationReason.other,
        )
        db.session.add(
            FailureRecord(case_id=delegated.case_id, situation="未能调解", reasons="分歧大")
        )
        # The mediator holds public reception hours every day, and the applicant booked a talk.
        for weekday in range(7):
            add_rule(case.mediator.id, weekday, time(8), time(20), reception=True, place="接待室")
        now = utcnow()
        slot = reception.free_slots(case.mediator.id, now.date(), now=now)[0]
        talk = reception.book(applicant, case.mediator, slot.start, "咨询", now=now)
        # A region's staff member watching the whole province.
        watcher = make_user(Role.governance)
        watcher.area_code = "32"
        db.session.commit()
        return World(
            phones={
                "applicant": applicant.phone,
                "respondent": respondent.phone,
                "mediator": case.mediator.phone,
                "institution_admin": admin.phone,
                "clerk": world.clerk.phone,
                "judge": world.judge.phone,
                "platform_admin": platform.phone,
                "governance": watcher.phone,
            },
            values={
                "case_id": [str(case.id), str(mediating.id), str(draft.id)],
                "application_id": [str(application.id), str(ruled.id)],
                "session_id": [str(session.id)],
                "evidence_id": [str(evidence.id)],
                "material_id": [str(material.id)],
                "request_id": [str(material_request.id)],
                "token": [
                    links.token_for(party_participant),
                    agency_token,
                    answer_token,
                    obligation_token,
                ],
                "party_id": [str(agent.id)],
                "question_id": [str(question.id)],
                "obligation_id": [str(obligation.id)],
                "delegation_id": [str(delegated.id)],
                "host_id": [str(case.mediator.id)],
                "booking_id": [str(talk.id)],
                "attachment_id": [str(question.attachments[0].id)],
                "number": ["1"],
                "which": ["application", "decision"],
                "kind": ["rule", "exception"],
                "code": ["neighbourhood"],
                "action": ["terminate", "draft_agreement"],
            },
            api_token=api_token,
        )


def real_paths(app: Flask, world: World, rule) -> list[str]:
    """``rule`` built with the world's values: the first of each, then each other one."""
    adapter = app.url_map.bind("mediation.test")
    first = {arg: world.values.get(arg, ["1"])[0] for arg in rule.arguments}
    paths = [adapter.build(rule.endpoint, first)]
    for arg in rule.arguments:
        for value in world.values.get(arg, [])[1:]:
            paths.append(adapter.build(rule.endpoint, {**first, arg: value}))
    return list(dict.fromkeys(paths))


def client_for(app: Flask, world: World, role: str) -> FlaskClient:
    client = app.test_client()
    if role != "anonymous":
        response = login(client, world.phones[role], PASSWORD)
        assert response.status_code == 302, (role, response.status_code)
    return client


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)  # name -> input type
    options: dict[str, list[str]] = field(default_factory=dict)


class _Forms(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[Form] = []
        self._open: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            action = urlsplit(attrs.get("action") or self.page).path or self.page
            self._open = Form(action, (attrs.get("method") or "get").upper())
            self.forms.append(self._open)
        elif self._open is not None and attrs.get("name"):
            name = attrs["name"]
            if tag in ("input", "textarea", "select"):
                kind = attrs.get("type", "text") if tag == "input" else tag
                self._open.fields.setdefault(name, kind)
                if kind in ("checkbox", "radio") and attrs.get("value") is not None:
                    self._open.options.setdefault(name, []).append(attrs["value"])
            if tag == "select":
                self._select = name
        elif tag == "option" and self._open and self._select and attrs.get("value") is not None:
            self._open.options.setdefault(self._select, []).append(attrs["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None
        elif tag == "select":
            self._select = None


def forms_on(path: str, html: str) -> list[Form]:
    parser = _Forms(path)
    parser.feed(html)
    return parser.forms


CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def csrf_of(html: str) -> str | None:
    match = CSRF.search(html)
    return match.group(1) if match else None
