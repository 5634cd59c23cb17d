"""Demo data for the embedded defaults: one of each kind of user, and a case between two parties."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for
from sqlalchemy import select

from .accounts import operations as accounts
from .accounts.identity import id_number_check_char
from .accounts.models import Court, CourtLevel, Institution, MediatorProfile, Role, User
from .cases import assignment, invitations, workflow
from .cases import operations as cases
from .cases.states import Action
from .consultation.models import ExpertProfile
from .extensions import db

DEMO_PASSWORD = "mediation-demo"  # noqa: S105 - demo data, refused in production
INSTITUTION_NAME = "玄武区锁金村街道人民调解委员会"


@dataclass(frozen=True)
class Login:
    role: str
    identifier: str
    secret: str


def _id_number(first17: str) -> str:
    return first17 + id_number_check_char(first17)


# (role, real name, phone, first 17 digits of the ID number)
PEOPLE = (
    (Role.platform_admin, "平台管理员", "13800000000", "32010219750101001"),
    (Role.institution_admin, "周主任", "13800000001", "32010219700305002"),
    (Role.mediator, "王调解", "13800000002", "32010219680712003"),
    (Role.mediator, "李调解", "13800000003", "32010219820923004"),
    (Role.court_clerk, "陈书记员", "13800000004", "32010219900215005"),
    (Role.judge, "赵法官", "13800000005", "32010219780630006"),
    (Role.party, "张三", "13800000006", "32010219850418007"),
    (Role.party, "李四", "13800000007", "32010219880109008"),
    (Role.expert, "孙律师", "13800000008", "32010219760520009"),
    (Role.governance, "刘主任", "13800000009", "32010219720811010"),
)


def seed() -> list[Login]:
    """Create the demo data once; later calls only list the logins again."""
    if current_app.config["ENV_NAME"] == "production":
        raise RuntimeError("demo data is not for production")
    institution = db.session.scalar(select(Institution).where(Institution.name == INSTITUTION_NAME))
    if institution is None:
        _create()
    users = {user.phone: user for user in db.session.scalars(select(User))}
    logins = []
    for role, _name, phone, _ in PEOPLE:
        user = users["+86" + phone]
        logins.append(Login(role.value, phone, f"password: {DEMO_PASSWORD}"))
        if role == Role.party and user.real_name == "李四":
            token = invitations.create_invitation(user, case_id=_demo_case_id(user))
            with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
                link = url_for("cases.join", token=token, _external=True)
            logins.append(Login("party (invitation)", link, "code: printed by the worker"))
        if role == Role.party and user.real_name == "张三":
            link = _session_link(user)
            if link:
                logins.append(Login("party (session link)", link, "code: printed by the worker"))
    return logins


def _session_link(user: User) -> str | None:
    from .booking import links
    from .booking.models import MediationSession, SessionParticipant

    participant = db.session.scalar(
        select(SessionParticipant)
        .join(MediationSession)
        .where(SessionParticipant.user_id == user.id, MediationSession.status == "scheduled")
        .order_by(MediationSession.start_at.desc())
    )
    return links.url_for_participant(participant) if participant else None


def _demo_case_id(user: User) -> int | None:
    from .cases.models import CaseParty

    return db.session.scalar(select(CaseParty.case_id).where(CaseParty.user_id == user.id))


def _create() -> None:
    institution = Institution(
        name=INSTITUTION_NAME, region_code="320102", address="南京市玄武区锁金村街道锁金四村1号"
    )
    court = Court(
        name="南京市玄武区人民法院",
        level=CourtLevel.basic,
        region_code="320102",
        address="南京市玄武区北京东路41号",
    )
    db.session.add_all([institution, court])
    db.session.flush()
    made: dict[str, User] = {}
    for role, name, phone, first17 in PEOPLE:
        made[name] = accounts.create_user(
            real_name=name,
            phone=phone,
            id_number=_id_number(first17),
            password=DEMO_PASSWORD,
            roles=[role],
            institution_id=institution.id
            if role in (Role.institution_admin, Role.mediator)
            else None,
            court_id=court.id if role in (Role.court_clerk, Role.judge) else None,
            verified=True,  # demo people: their numbers count as proven
        )
    made["刘主任"].area_code = "320102"  # the district's social-governance centre
    made["周主任"].email = "zhou@demo.mediation.localhost"
    institution.seal_holder = made["周主任"]
    made["王调解"].mediator_profile = MediatorProfile(
        specialities="邻里纠纷、物业纠纷，从事人民调解工作二十年",
        categories=["neighbourhood", "property_services", "adjacent_property"],
        languages=["普通话", "南京话"],
    )
    made["李调解"].mediator_profile = MediatorProfile(
        specialities="劳动争议、民间借贷；执业律师",
        categories=["labour", "private_lending", "sale_contract"],
        languages=["普通话", "English"],
        charges_fee=True,
        fee_note="按照《江苏省调解收费办法》收取，首次调解免费",
    )
    # A lawyer answering consultations of Jiangsu (mediation/consultation).
    db.session.add(
        ExpertProfile(
            user_id=made["孙律师"].id,
            kind="lawyer",
            categories=[],
            languages=["普通话"],
            hours="工作日 9:00-17:00",
            region_code="320000",
        )
    )
    case = cases.open_case(
        title="楼上漏水致楼下墙面受损",
        category="neighbourhood",
        facts="2026年10月起，申请人家卫生间顶部持续渗水，墙面发霉。申请人多次与楼上住户协商未果。",
        applicants=[made["张三"]],
        respondents=[made["李四"]],
        by=made["张三"],
    )
    workflow.transition(case, Action.submit, by=made["张三"])
    assignment.assign(
        case, institution=institution, mediator=made["王调解"], how="chosen", by=made["张三"]
    )
    assignment.accept(case, by=made["王调解"])
    workflow.transition(case, Action.respondent_agrees, by=made["李四"])
    db.session.flush()
    _book_demo_session(case, made["王调解"])
    _signed_agreement(made, institution)


SIGNED_CASE_TITLE = "民间借贷：借款五千元未还"


def _signed_agreement(made: dict[str, User], institution: Institution) -> None:
    """A second case whose agreement everyone has signed: two PAdES signatures of the
    parties, the mediator's, and the institution's seal."""
    from datetime import timedelta

    from .accounts.models import CodePurpose
    from .accounts.operations import confirm_id_number
    from .agreements import operations as agreements
    from .agreements import signing
    from .core.db import utcnow

    applicant, respondent, mediator = made["张三"], made["李四"], made["王调解"]
    case = cases.open_case(
        title=SIGNED_CASE_TITLE,
        category="private_lending",
        facts="2026年3月，被申请人向申请人借款人民币五千元，约定三个月内归还，至今未还。",
        applicants=[applicant],
        respondents=[respondent],
        by=applicant,
    )
    workflow.transition(case, Action.submit, by=applicant)
    assignment.assign(case, institution=institution, mediator=mediator, how="chosen", by=applicant)
    assignment.accept(case, by=mediator)
    workflow.transition(case, Action.respondent_agrees, by=respondent)
    for party in case.parties:
        party.service_address = "南京市玄武区锁金村街道锁金四村"
        # Seen with their identity cards in the session (SPC online mediation rules art 17).
        confirm_id_number(party.user, by=mediator)
    agreement = agreements.start(case, by=mediator)
    due = (utcnow() + timedelta(days=30)).date().isoformat()
    agreements.save(
        agreement,
        {
            "facts": "2026年3月，被申请人向申请人借款人民币五千元，约定三个月内归还，至今未还。",
            "issues": [{"issue": "借款本金的归还", "responsibility": "被申请人应归还全部借款"}],
            "obligations": [
                {
                    "obligor": respondent.id,
                    "obligee": applicant.id,
                    "kind": "pay",
                    "action": "向申请人归还借款",
                    "amount": "5000",
                    "due": due,
                    "method": "银行转账",
                    "place": "",
                }
            ],
            "performance": "被申请人以银行转账方式一次性归还。",
            "default_terms": "被申请人逾期未还的，经人民法院司法确认后，申请人可以申请强制执行。",
        },
        by=mediator,
    )
    signing.open_round(agreement, by=mediator)
    drawing = _demo_drawing()
    for user in (applicant, respondent, mediator, made["周主任"]):
        shown = signing.code_for(agreement, agreement.document_sha256)
        code = accounts.issue_code(user, CodePurpose.agreement_signature, code_for=shown)
        signing.sign(
            agreement,
            user,
            code=code,
            shown_sha256=agreement.document_sha256,
            drawing=None if user is made["周主任"] else drawing,
        )


def _demo_drawing() -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (300, 110), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(12, 80), (70, 25), (130, 90), (200, 30), (285, 70)], "black", 5)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def signed_agreement_file() -> str | None:
    """Where the demo's signed agreement is, for the person who ran ``mediation demo``."""
    from .agreements import operations as agreements
    from .agreements import signing
    from .cases.models import Case

    case = db.session.scalar(select(Case).where(Case.title == SIGNED_CASE_TITLE))
    agreement = agreements.of_case(case) if case else None
    path = signing.document_path_of(agreement) if agreement else None
    return str(path) if path else None


def _book_demo_session(case, mediator: User) -> None:
    """王调解 keeps office hours and a Friday-morning reception; the case has a session at
    the first free time."""
    from datetime import time

    from .booking import availability, slots
    from .booking import operations as booking
    from .core.db import utcnow

    for weekday in range(5):
        availability.add_rule(
            mediator.id, weekday, time(14), time(17, 30), reception=False, place=""
        )
        reception = weekday == 4  # 两代表一委员 reception: every Friday morning
        availability.add_rule(
            mediator.id,
            weekday,
            time(9),
            time(12),
            reception=reception,
            place="锁金村街道调解室" if reception else "",
        )
    now = utcnow()
    free = slots.free_slots(mediator.id, now.date(), 14, now=now)
    if free:
        booking.book(case, by=mediator, start=free[0].start, now=now)
