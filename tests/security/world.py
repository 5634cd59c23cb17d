"""Two tenants for the authorization matrix: each its own institution, court and cases, with
every kind of object a URL of the platform can name (a draft, a case whose agreement is in
force and whose joint application is with the court, a failed case with its art 21 record,
a joint session and a separate session of one side with minutes, recordings and a review
video, evidence, materials, personal links and tokens).

Users are made through ``tests.factories`` only, so a change to how accounts are made (a
verified phone, say) is made there once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

from sqlalchemy import select

from mediation.accounts.models import Role, User
from mediation.agreements import operations as agreements
from mediation.agreements import signing
from mediation.booking import availability, links
from mediation.booking.models import AvailabilityRule, MediationSession, SessionParticipant
from mediation.cases import agency, intake, invitations, workflow
from mediation.cases import operations as cases
from mediation.cases import respondent as answering
from mediation.cases.models import CaseParty
from mediation.cases.states import Action, TerminationReason
from mediation.consultation import links as consultation_links
from mediation.consultation import operations as consultation
from mediation.core.db import utcnow
from mediation.court import api as court_api
from mediation.court import application as applying
from mediation.court import delegation as delegating
from mediation.court import examination, materials
from mediation.extensions import db
from mediation.followup import links as followup_links
from mediation.followup import operations as followup
from mediation.minutes import operations as minutes
from mediation.minutes import review
from mediation.notify.models import OutboxMessage
from mediation.reception import operations as reception
from mediation.recording import operations as recording
from mediation.recording.models import Composition
from mediation.rooms.models import Room, RoomMember
from tests.agreements.conftest import drawing
from tests.court.conftest import apply_jointly, in_force
from tests.factories import make_case, make_user

# Each tenant's consultation pool is its own province (none is the institutions' Jiangsu,
# so no tenant's administrators reach a question): a and b alternate.
_PROVINCES = itertools.cycle(("110000", "310000"))

# The roles a tenant's people hold towards that tenant's objects.
# "expert": a lawyer answering consultations in the tenant's pool (not a mediator);
# "governance": a region's staff member watching the tenant's province (aggregates, no case).
TENANT_ROLES = (
    "applicant",
    "respondent",
    "mediator",
    "admin",
    "clerk",
    "judge",
    "expert",
    "governance",
)
MINUTES = {
    "attendees": "调解员王某，申请人张某，被申请人李某",
    "applicant_statement": "申请人称被申请人欠款五千元。",
    "respondent_statement": "被申请人称只欠三千元。",
    "proposals": "调解员建议分两期归还。",
    "facts": "双方确认曾有借款关系。",
}
WEBM = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 16
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Tenant:
    """What the URLs of one tenant are filled with, and who its people are (by phone)."""

    phones: dict[str, str] = field(default_factory=dict)  # role -> phone
    ids: dict[str, Any] = field(default_factory=dict)  # object name -> id or token


def _session(case, name: str, *, start, side: str | None = None) -> MediationSession:
    """A session written directly (booking's notice rules are tested in tests/booking)."""
    parties = [p for p in case.parties if side is None or p.side == side]
    session = MediationSession(
        case_id=case.id,
        mediator_id=case.mediator_id,
        start_at=start,
        end_at=start + timedelta(hours=1),
        busy_until=start + timedelta(hours=1),
        local_day=start.date(),
        uid=f"matrix-{case.id}-{name}@test",
        side=side,
        participants=[
            SessionParticipant(user_id=case.mediator_id, role="mediator"),
            *(SessionParticipant(user_id=p.user_id, role="party", side=p.side) for p in parties),
        ],
    )
    db.session.add(session)
    db.session.flush()
    return session


# What the applicant's side told the mediator alone (art 16): nobody else may read it.
SIDE_SECRET = "申请人底线为两千元，仅对调解员说明"


def _ended_with_minutes(session: MediationSession, text: dict[str, str]) -> None:
    """The room held and ended, everyone admitted; the minutes written and sent for review."""
    now = utcnow()
    db.session.add(Room(session_id=session.id, started_at=now, ended_at=now))
    case = session.case
    for participant in session.participants:
        side = next((p.side for p in case.parties if p.user_id == participant.user_id), None)
        db.session.add(
            RoomMember(
                participant_id=participant.id,
                session_id=session.id,
                role=participant.role,
                side=side,
                admitted_at=now,
                identity_confirmed_at=now,
            )
        )
    minutes.save(session, text, by=case.mediator)
    db.session.flush()
    minutes.session_ended(session)


def _recorded(session: MediationSession, participant: SessionParticipant, scope: str) -> int:
    file = recording.open_file(session.id, participant.id, "matrix", scope)
    recording.absolute(file).parent.mkdir(parents=True, exist_ok=True)
    recording.absolute(file).write_bytes(WEBM)
    recording.finish_file(file, duration=1.0)
    return file.id


def _review_video(session: MediationSession, storage_dir: str) -> None:
    from pathlib import Path

    path = f"compositions/matrix-{session.id}.mp4"
    (Path(storage_dir) / path).parent.mkdir(parents=True, exist_ok=True)
    (Path(storage_dir) / path).write_bytes(b"\x00\x00\x00\x18ftypmp42")
    db.session.add(Composition(session_id=session.id, path=path, status="finished", size=12))


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def build_tenant(storage_dir: str) -> Tenant:
    """One tenant; flushes, the caller commits."""
    world = in_force()  # institution, mediator, admin, court, clerk, judge; agreement in force
    case = world.case
    applicant, respondent = case.party_users()
    mediator = case.mediator
    admin = next(
        u
        for u in db.session.scalars(select(User).where(User.institution_id == case.institution_id))
        if u.has_role(Role.institution_admin)
    )
    application = apply_jointly(world)
    material = materials.add_material(application, "identity", "身份证.pdf", PDF, by=applicant)
    material_request = examination.request_materials(application, "请提供房产证", 5, by=world.clerk)
    # A file the applicant did not share: the other side must not get it either.
    evidence = intake.add_evidence(
        case, by=applicant, filename="收据.png", data=drawing(), shared=False
    )

    # Sessions: a joint one that ended an hour ago, and one of the applicant's side alone
    # (art 16, with every party's consent), both with minutes under review.
    now = utcnow()
    for party in case.parties:
        party.separate_sessions_at = now
    joint = _session(case, "joint", start=now - timedelta(minutes=70))
    side = _session(
        case, "side", start=now - timedelta(minutes=70) + timedelta(days=1), side="applicant"
    )
    # The side session is tomorrow: minutes are for a session that took place, so its end is
    # recorded as for the joint one (the room's end is what opens the review).
    _ended_with_minutes(joint, MINUTES)
    _ended_with_minutes(side, {**MINUTES, "applicant_statement": SIDE_SECRET})
    # The joint session's review is closed: its minutes PDF exists.
    review.close_review(joint, minutes.of_session(joint.id), by=mediator)
    joint_applicant = next(p for p in joint.participants if p.user_id == applicant.id)
    side_applicant = next(p for p in side.participants if p.user_id == applicant.id)
    joint_recording = _recorded(joint, joint_applicant, "joint")
    caucus_recording = _recorded(joint, joint_applicant, "caucus:applicant")
    _review_video(joint, storage_dir)
    _review_video(side, storage_dir)

    # An upcoming session of the joint kind, for join links that still work.
    upcoming = _session(case, "upcoming", start=now + timedelta(days=2))
    upcoming_applicant = next(p for p in upcoming.participants if p.user_id == applicant.id)

    # The applicant's draft of another dispute with the same respondent.
    draft = make_case(applicant, respondent, submit=False)
    # A failed case of the same people and mediator, with its art 21 record.
    failed = make_case(applicant, respondent, mediator=mediator)
    answering.answer(
        failed,
        by=respondent,
        agree=True,
        consent=True,
        service_address="南京市玄武区",
        service_confirmed=True,
    )
    workflow.transition(failed, Action.terminate, by=mediator, reason=TerminationReason.other)
    cases.record_failure(failed, by=mediator, situation="双方分歧较大", reasons="无法达成一致")

    # A case the applicant's agent acts in, not yet confirmed by the applicant.
    agency_case = make_case(applicant, respondent, mediator=mediator)
    agent = CaseParty(
        user=make_user(real_name="代理人"), side="applicant", is_agent=True, represents=applicant
    )
    agency_case.parties.append(agent)
    db.session.flush()

    # A question of the applicant's, in the pool the tenant's mediator answers as an expert.
    province = next(_PROVINCES)
    consultation.make_expert(
        mediator, kind="mediator", region_code=province, categories_=[], languages=[], hours=""
    )
    lawyer = make_user(real_name="律师")
    consultation.make_expert(
        lawyer, kind="lawyer", region_code=province, categories_=[], languages=[], hours=""
    )
    # A region's staff member of the institutions' own province (Jiangsu).
    watcher = make_user(Role.governance, real_name="治理中心")
    watcher.area_code = "32"
    question = consultation.ask(
        applicant,
        category="neighbourhood",
        region_code=province,
        subject="漏水",
        text="楼上漏水怎么办",
        files=[("照片.png", drawing())],
    )

    # A dispute the court delegated before filing (court/delegation.py), still mediating.
    delegated = delegating.delegate(
        world.court,
        delegating.DelegationInput(
            reference=f"（2026）苏0102民诉前调{case.id}号",
            category="neighbourhood",
            title="漏水",
            applicants=[delegating.PartyInput("委派申请人", make_user().phone)],
            respondents=[delegating.PartyInput("委派被申请人", make_user().phone)],
        ),
    )

    rule = availability.add_rule(mediator.id, 0, time(9), time(12), reception=False, place="")
    settings = availability.settings_for(mediator.id)
    availability.renew_feed_token(settings)
    db.session.flush()
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == applicant.phone)
    ).first()
    assert db.session.get(AvailabilityRule, rule.id) is not None

    # A reception talk the applicant booked with the mediator (reception/): Thursday
    # afternoons are public reception; the slot follows the clock.
    availability.add_rule(mediator.id, 3, time(14), time(17), reception=True, place="接待室")
    slot = reception.free_slots(mediator.id, utcnow().date(), now=utcnow())[0]
    talk = reception.book(applicant, mediator, slot.start, "邻里纠纷", now=utcnow())
    # The agreement's payment, tracked since it took effect (the applicant is owed).
    obligation = followup.of_case(case)[0]
    return Tenant(
        phones={
            "applicant": applicant.phone,
            "respondent": respondent.phone,
            "mediator": mediator.phone,
            "admin": admin.phone,
            "clerk": world.clerk.phone,
            "judge": world.judge.phone,
            "expert": lawyer.phone,
            "governance": watcher.phone,
        },
        ids={
            "case": case.id,
            "case_number": case.number,
            "draft": draft.id,
            "failed": failed.id,
            "agency_case": agency_case.id,
            "agent_party": agent.id,
            "respondent_party": next(p.id for p in case.parties if p.side == "respondent"),
            "agency_link": _token(agency.link_for(agent)),
            "evidence": evidence.id,
            "question": question.id,
            "obligation": obligation.id,
            "question_file": question.attachments[0].id,
            "application": application.id,
            "material": material.id,
            "material_request": material_request.id,
            "joint": joint.id,
            "side": side.id,
            "upcoming": upcoming.id,
            "recording": joint_recording,
            "caucus_recording": caucus_recording,
            "rule": rule.id,
            "reception_booking": talk.id,
            "message": message.id,
            "mediator_id": mediator.id,
            "court_id": world.court.id,
            "delegation": delegated.id,
            "feed": settings.feed_token,
            "session_link": links.token_for(upcoming_applicant),
            "minutes_link": _token(review.link_for(joint_applicant)),
            "side_minutes_link": _token(review.link_for(side_applicant)),
            "agreement_link": _token(signing.link_for(agreements.of_case(case), applicant)),
            "application_link": _token(applying.link_for(application, applicant)),
            "question_link": _token(consultation_links.answer_link(question)),
            "obligation_link": _token(followup_links.link_for(obligation, obligation.obligee.user)),
            "invitation": invitations.create_invitation(respondent, case.id),
            "api_token": court_api.new_token(world.court, "matrix"),
        },
    )
