"""Who is told what: every step of a case, a booking, the room, the minutes, the agreement
and the court application, and whom it tells by which channel (issue #16, item 3).

This is the one list of the platform's notices. ``docs/notifications.md`` is made from it
(``python -m mediation.notify.table > docs/notifications.md``; a test checks they agree), and
``tests/notify/test_table.py`` performs every step through the real operations and checks
that the outbox got exactly these messages to exactly these people. The messages themselves
are sent by the module named in ``where`` (a lower feature cannot import a higher one, so
each feature sends its own; the case's state changes are told from one receiver of
``cases.signals.status_changed``, ``mediation/cases/notices.py``).

Channels:
  sms   - a text message to the person's phone;
  both  - a text message, and an e-mail too when the person gave an address;
  email - an e-mail only;
  none  - nobody is told, and ``why`` says why.
"""

from __future__ import annotations

from dataclasses import dataclass

# Who: each name is a group of people of the case, the session or the court.
AUDIENCES = {
    "applicants": "the applicants (the parties who filed)",
    "respondents": "the respondents",
    "parties": "every party and agent of the case",
    "principal": "the party an agent acts for",
    "the person": "the person who asked, at the number or address they gave",
    "owner": "the holder of the account on that number",
    "mediator": "the case's mediator",
    "new mediator": "the mediator the case is now given to",
    "withdrawn mediator": "the mediator who was to answer, from whom the case is taken",
    "institution admins": "the administrators of the case's institution",
    "platform admins": "the platform's administrators (a case with no institution)",
    "participants": "everyone invited to the session, the mediator included",
    "invitees": "everyone invited to the session but the mediator",
    "guest": "the person the mediator invited",
    "reviewers": "the parties and agents who attended the session",
    "next signer": "whoever signs next (a party, an agent or the mediator)",
    "seal holder": "the institution's seal holder, or else every administrator",
    "round signers": "whoever signed the round or was to sign it: its parties and agents still "
    "in the case, and the former mediator it named",
    "court staff": "the active clerks and judges of the court applied to",
    "delegating court": "the active clerks and judges of the court that delegated the dispute",
    "asker": "the person who asked the question",
    "obligor": "the party who owes an obligation of the agreement",
    "obligee": "the party an obligation of the agreement is owed to",
    "experts": "the experts of the question's pool (its province and category)",
    "region admins": "the administrators of the province's institutions, and the platform's",
    "booker": "the person who booked the reception talk",
    "region staff": "region staff (governance) whose division holds one of the cases",
    "nobody": "nobody",
}

CHANNELS = ("sms", "both", "email", "none")
STAGES = (
    "account",
    "consultation",
    "reception",
    "case",
    "booking",
    "room",
    "minutes",
    "agreement",
    "court",
    "followup",
    "governance",
)


@dataclass(frozen=True)
class Notice:
    stage: str
    event: str  # the step, as the test and the docs name it
    audience: str  # a key of AUDIENCES
    channel: str  # one of CHANNELS
    where: str  # the module that sends it
    why: str = ""  # the rule it follows, or why nobody is told

    def __post_init__(self) -> None:
        assert self.stage in STAGES and self.audience in AUDIENCES and self.channel in CHANNELS
        assert (self.channel == "none") == (self.audience == "nobody")
        assert self.channel != "none" or self.why, "a step that tells nobody says why"


N = Notice
TABLE: tuple[Notice, ...] = (
    # Accounts: codes prove a number; a note instead of a code protects who has an account.
    N(
        "account",
        "one-time code asked for",
        "the person",
        "sms",
        "accounts/codes.py",
        "sent to the number (or address) being proven; removed from the outbox once delivered",
    ),
    N(
        "account",
        "registration on a number that has an account",
        "owner",
        "sms",
        "accounts/registration.py",
        "paced like a code, so it cannot flood the number",
    ),
    # Cases.
    N(
        "case",
        "case filed in a party's name by an agent",
        "principal",
        "sms",
        "cases/agency.py",
        "the party confirms or refuses the agent (PML art 23)",
    ),
    N(
        "case",
        "case assigned to a mediator",
        "mediator",
        "sms",
        "cases/assignment.py",
        "accept or decline within 3 working days (art 12)",
    ),
    N(
        "case",
        "case needs assigning",
        "institution admins",
        "both",
        "cases/assignment.py",
        "no mediator is picked: the case waits in the queue of the institution of its region, "
        "whose administrators give it to a mediator (SPC online mediation rules arts 10, 12)",
    ),
    N(
        "case",
        "case filed with the institution chosen",
        "institution admins",
        "both",
        "cases/assignment.py",
        "the applicant or the delegating court (SPC online mediation rules art 10) "
        "chose the institution, whose administrators give the case to one of its mediators "
        "(art 12); the notice says who chose it",
    ),
    N(
        "case",
        "case needs assigning, no institution fits",
        "platform admins",
        "both",
        "cases/assignment.py",
        "no institution of the case's region has mediators: the platform's administrators "
        "give it to one (arts 10, 12)",
    ),
    N(
        "case",
        "acceptance deadline a day away",
        "mediator",
        "sms",
        "cases/reminders.py",
        "art 12: unanswered, the case goes to another mediator",
    ),
    N(
        "case",
        "case accepted",
        "applicants",
        "both",
        "cases/notices.py",
        "art 12: the applicant learns the case is taken on",
    ),
    N(
        "case",
        "case accepted",
        "respondents",
        "both",
        "cases/respondent.py",
        "art 15: asked whether they agree, with a personal link",
    ),
    N(
        "case",
        "respondent reminded",
        "respondents",
        "both",
        "cases/respondent.py",
        "once, two days before the answer is due",
    ),
    N("case", "respondent agrees", "applicants", "both", "cases/respondent.py", "art 15"),
    N(
        "case",
        "respondent agrees",
        "mediator",
        "sms",
        "cases/notices.py",
        "mediation starts: the mediator books a session next",
    ),
    N(
        "case",
        "respondent refuses",
        "applicants",
        "both",
        "cases/respondent.py",
        "PML art 17: the case ends; they may go to court",
    ),
    N("case", "respondent refuses", "mediator", "sms", "cases/notices.py", "the case has ended"),
    N(
        "case",
        "respondent did not answer in time",
        "applicants",
        "both",
        "cases/respondent.py",
        "art 25 (3): the case ends",
    ),
    N(
        "case",
        "respondent did not answer in time",
        "mediator",
        "sms",
        "cases/respondent.py",
        "ended by the clock, with nobody on the page to see it",
    ),
    N(
        "case",
        "mediator declines and another takes the case",
        "new mediator",
        "sms",
        "cases/assignment.py",
        "art 12: a new 3 working days",
    ),
    N(
        "case",
        "mediator declines and another takes the case",
        "applicants",
        "sms",
        "cases/assignment.py",
        "they chose or were given the first mediator",
    ),
    N(
        "case",
        "institution chosen declines or lets its days pass",
        "applicants",
        "sms",
        "cases/lapse.py",
        "art 12 para 2: the court or the parties choose again, not the platform; the case stays "
        "with the institution chosen, and the applicants are told once how to choose again",
    ),
    N(
        "case",
        "mediator chosen by name declines or lets its days pass",
        "applicants",
        "sms",
        "cases/lapse.py",
        "art 12 para 2: they may choose another mediator or institution; meanwhile the "
        "platform looks for another mediator of the same institution",
    ),
    N(
        "case",
        "institution a court chose declines or lets its days pass",
        "applicants",
        "sms",
        "cases/lapse.py",
        "art 12 para 2: they may ask the court to designate another institution",
    ),
    N(
        "case",
        "institution a court chose declines or lets its days pass",
        "delegating court",
        "both",
        "court/delegation.py",
        "art 12 para 2: the court may designate another institution, from the portal's "
        "delegations or the court API; told once for each institution it chose",
    ),
    N(
        "case",
        "applicant chooses another institution",
        "institution admins",
        "both",
        "cases/assignment.py",
        "the institution the applicant chose now (art 10), with its own 3 working days (art 12)",
    ),
    N(
        "case",
        "applicant chooses another institution",
        "applicants",
        "sms",
        "cases/rechoice.py",
        "every applicant: one chose for all (art 12 para 2)",
    ),
    N(
        "case",
        "applicant chooses another mediator",
        "new mediator",
        "sms",
        "cases/assignment.py",
        "the mediator the applicant chose by name (art 10), with a new 3 working days (art 12)",
    ),
    N(
        "case",
        "applicant chooses another mediator",
        "applicants",
        "sms",
        "cases/rechoice.py",
        "every applicant: whom one chose for all, and within how long they answer (art 12)",
    ),
    N(
        "case",
        "applicant chooses another mediator",
        "withdrawn mediator",
        "sms",
        "cases/rechoice.py",
        "the mediator given the case meanwhile need not answer it any more (art 12 para 2)",
    ),
    N(
        "case",
        "court designates another institution",
        "institution admins",
        "both",
        "cases/assignment.py",
        "the new institution's administrators: the court chose it (art 10), and it has its own "
        "3 working days (art 12)",
    ),
    N(
        "case",
        "applicant chooses another institution",
        "withdrawn mediator",
        "sms",
        "cases/rechoice.py",
        "the mediator given the case meanwhile need not answer it any more (art 12 para 2)",
    ),
    N(
        "case",
        "court designates another institution",
        "withdrawn mediator",
        "sms",
        "cases/rechoice.py",
        "the mediator given the case meanwhile need not answer it any more (art 12 para 2)",
    ),
    N(
        "case",
        "court designates another institution",
        "applicants",
        "sms",
        "cases/rechoice.py",
        "who mediates their case now, and within how long it answers (art 12)",
    ),
    N(
        "case",
        "institution gives the case to another mediator",
        "new mediator",
        "sms",
        "cases/assignment.py",
        "art 12 or art 14",
    ),
    N(
        "case",
        "mediator discloses a conflict of interest",
        "institution admins",
        "sms",
        "cases/conflicts.py",
        "art 13: the institution decides whether to reassign",
    ),
    N(
        "case",
        "party objects to the mediator after a disclosure",
        "institution admins",
        "sms",
        "cases/conflicts.py",
        "art 13",
    ),
    N(
        "case",
        "party asks for another mediator",
        "institution admins",
        "sms",
        "cases/conflicts.py",
        "art 14",
    ),
    N(
        "case",
        "agent takes a step in a party's name",
        "principal",
        "sms",
        "cases/agency.py",
        "the party knows every act done in their name",
    ),
    N(
        "case",
        "mediation period ends in 3 days",
        "mediator",
        "sms",
        "cases/reminders.py",
        "art 24: an extension needs every party's consent",
    ),
    N("case", "mediation period ends in 3 days", "parties", "sms", "cases/reminders.py", "art 24"),
    N(
        "case",
        "case ended by the mediator or a party",
        "parties",
        "both",
        "cases/notices.py",
        "art 25 with the reason; PML art 26: what they may still do. Not the one who ended it",
    ),
    N(
        "case",
        "case ended by the mediator or a party",
        "mediator",
        "sms",
        "cases/notices.py",
        "when a party ended it",
    ),
    N(
        "case",
        "mediation period over without an extension",
        "parties",
        "both",
        "cases/notices.py",
        "art 25 (6); PML art 26: what they may still do",
    ),
    N(
        "case",
        "mediation period over without an extension",
        "mediator",
        "sms",
        "cases/notices.py",
        "ended by the clock, with nobody on the page to see it",
    ),
    # Booking: every notice carries each person's own join link; e-mails carry the .ics.
    N(
        "booking",
        "session booked",
        "participants",
        "both",
        "booking/operations.py",
        "with the personal join link; the e-mail adds the calendar invitation",
    ),
    N(
        "booking",
        "session started now",
        "invitees",
        "both",
        "booking/operations.py",
        "立即调解, as the parties agreed: one message each with the join link; no reminder "
        "follows, and the mediator, who started it, goes to the room",
    ),
    N(
        "booking",
        "session booked less than an hour ahead",
        "participants",
        "both",
        "booking/operations.py",
        "the booking's own message only: the reminders it comes within are not sent on top "
        "(issue #16: six texts at once)",
    ),
    N(
        "booking",
        "times offered",
        "invitees",
        "both",
        "booking/offers.py",
        "each party chooses the times they can attend",
    ),
    N(
        "booking",
        "times chosen by every party",
        "participants",
        "both",
        "booking/offers.py",
        "the session is fixed at the earliest time all chose",
    ),
    N(
        "booking",
        "session moved",
        "participants",
        "both",
        "booking/operations.py",
        "with the reason; calendars replace the event",
    ),
    N(
        "booking",
        "session cancelled",
        "participants",
        "both",
        "booking/operations.py",
        "with the reason; calendars drop the event",
    ),
    N(
        "booking",
        "offered times withdrawn",
        "participants",
        "both",
        "booking/operations.py",
        "with the reason",
    ),
    N(
        "booking",
        "guest invited",
        "guest",
        "both",
        "booking/operations.py",
        "PML art 20; with their own link",
    ),
    N(
        "booking",
        "links sent again",
        "invitees",
        "both",
        "booking/operations.py",
        "the links sent before stop working",
    ),
    N(
        "booking",
        "session a day away",
        "participants",
        "both",
        "booking/reminders.py",
        "not when the hour's reminder is due at the same time",
    ),
    N(
        "booking",
        "session an hour away",
        "participants",
        "both",
        "booking/reminders.py",
        "the last reminder",
    ),
    N(
        "booking",
        "offered times all passed unchosen",
        "participants",
        "both",
        "booking/cleanup.py",
        "the offer is withdrawn",
    ),
    N(
        "booking",
        "case ended with a session ahead",
        "participants",
        "both",
        "booking/cleanup.py",
        "the session is cancelled",
    ),
    # The room.
    N(
        "room",
        "someone enters, is admitted, raises a hand, a caucus starts",
        "nobody",
        "none",
        "rooms/",
        "everyone concerned is in the room and sees it there",
    ),
    N(
        "room",
        "session ended",
        "reviewers",
        "sms",
        "minutes/review.py",
        "art 22: the minutes are sent for review (the row below)",
    ),
    # Minutes.
    N(
        "minutes",
        "minutes sent for review",
        "reviewers",
        "sms",
        "minutes/review.py",
        "art 22: read, dispute passages, confirm with a code",
    ),
    N(
        "minutes",
        "party confirms the minutes",
        "nobody",
        "none",
        "minutes/review.py",
        "nothing to decide: the mediator sees it on the minutes page; the last confirmation "
        "makes the minutes final",
    ),
    N(
        "minutes",
        "party disputes passages of the minutes",
        "mediator",
        "sms",
        "minutes/review.py",
        "art 22: only undisputed facts are confirmed; the mediator amends or makes them final "
        "with the objection marked; nothing is made final without them",
    ),
    N(
        "minutes",
        "mediator makes the minutes final",
        "nobody",
        "none",
        "minutes/review.py",
        "the PDF is on the case page; the parties answered already",
    ),
    # The agreement.
    N(
        "agreement",
        "draft saved or commented",
        "nobody",
        "none",
        "agreements/operations.py",
        "the draft is worked on with the parties in session; each signer is asked in turn",
    ),
    N(
        "agreement",
        "signing opened",
        "next signer",
        "sms",
        "agreements/signing.py",
        "signers sign one after another, each told when it is their turn",
    ),
    N(
        "agreement",
        "a signer signs and another is next",
        "next signer",
        "sms",
        "agreements/signing.py",
        "the next in turn",
    ),
    N(
        "agreement",
        "the institution's seal is next",
        "seal holder",
        "sms",
        "agreements/signing.py",
        "PML art 29: the committee's seal",
    ),
    N(
        "agreement",
        "agreement in force",
        "parties",
        "sms",
        "agreements/signing.py",
        "with the document's check code; CPL art 205's 30 days start",
    ),
    N(
        "agreement",
        "agreement in force",
        "mediator",
        "sms",
        "agreements/signing.py",
        "with the document's check code",
    ),
    N(
        "agreement",
        "mediator changed while the agreement is out for signing",
        "round signers",
        "sms",
        "agreements/signing.py",
        "PML art 29: the document names the mediator who signs it, so the round is void; the "
        "new mediator fixes the text again and everyone signs anew. An agreement in force "
        "stays as it is",
    ),
    N(
        "agreement",
        "mediator changed while the agreement waits for the seal",
        "seal holder",
        "sms",
        "agreements/signing.py",
        "they were asked to seal the void round",
    ),
    N(
        "agreement",
        "party refuses to sign",
        "parties",
        "both",
        "cases/notices.py",
        "art 25 (7): the case ends; PML art 26: what they may still do (the one who refused too)",
    ),
    N(
        "agreement",
        "party refuses to sign",
        "mediator",
        "sms",
        "cases/notices.py",
        "the case has ended",
    ),
    # A court's delegated dispute (SPC online mediation rules arts 11-15; CPL art 125).
    N(
        "court",
        "court delegates a dispute",
        "applicants",
        "both",
        "court/delegation.py",
        "the applicant agreed at the court; they follow the case by their own link, and the "
        "respondent is asked once the case is accepted (art 15)",
    ),
    N(
        "court",
        "delegated dispute's deadline passes without an agreement",
        "parties",
        "both",
        "cases/notices.py",
        "art 25 (6): mediation ends and the dispute goes back to the court; PML art 26",
    ),
    N(
        "court",
        "delegated dispute's deadline passes without an agreement",
        "mediator",
        "sms",
        "cases/notices.py",
        "ended by the clock",
    ),
    # The court application (SPC provisions on judicial confirmation).
    N(
        "court",
        "joint application: another party is to sign",
        "next signer",
        "sms",
        "court/application.py",
        "SPC provisions on judicial confirmation art 2: both parties apply together; whoever "
        "signs next gets their own link",
    ),
    N(
        "court",
        "joint application signed by every party",
        "court staff",
        "sms",
        "court/notices.py",
        "the court decides within 3 days whether to accept it",
    ),
    N(
        "court",
        "court accepts the application",
        "parties",
        "sms",
        "court/notices.py",
        "with the court's case number",
    ),
    N(
        "court",
        "court refuses the application",
        "parties",
        "sms",
        "court/notices.py",
        "with the ground",
    ),
    N(
        "court",
        "court asks for more materials",
        "parties",
        "sms",
        "court/notices.py",
        "with the date they are due",
    ),
    N("court", "court confirms the agreement", "parties", "sms", "court/notices.py", "CPL art 206"),
    N("court", "court rejects the agreement", "parties", "sms", "court/notices.py", "CPL art 206"),
    N(
        "court",
        "parties withdraw the application",
        "court staff",
        "sms",
        "court/notices.py",
        "the court stops its examination",
    ),
    # Consultation: a question to the region's experts, answered in writing in a stated time.
    N(
        "consultation",
        "question asked",
        "experts",
        "sms",
        "consultation/notices.py",
        "with the time the answer is due and a link to the question",
    ),
    N(
        "consultation",
        "question answered",
        "asker",
        "sms",
        "consultation/notices.py",
        "the answer itself is read behind the asker's personal link",
    ),
    N(
        "consultation",
        "question not answered in time",
        "region admins",
        "sms",
        "consultation/notices.py",
        "once, by the worker, when the stated time has passed",
    ),
    N(
        "consultation",
        "question not answered in time",
        "experts",
        "sms",
        "consultation/notices.py",
        "the other experts of the pool may answer it",
    ),
    N(
        "consultation",
        "question turned into a case",
        "nobody",
        "none",
        "consultation/operations.py",
        "the asker took the step; the draft is theirs until they submit it",
    ),
    # Reception days: a talk booked in a host's public reception hours (reception/).
    N(
        "reception",
        "reception talk booked",
        "booker",
        "sms",
        "reception/notices.py",
        "with the day, time and place",
    ),
    N(
        "reception",
        "reception talk cancelled",
        "nobody",
        "none",
        "reception/operations.py",
        "the booker took the step; the host's reception list shows it",
    ),
    N(
        "reception",
        "reception talk turned into a case",
        "booker",
        "sms",
        "reception/notices.py",
        "the draft is the party's to check and submit (PML art 17: the party applies)",
    ),
    N(
        "reception",
        "reception talk kept as a consultation answer",
        "booker",
        "sms",
        "consultation/notices.py",
        "as a written answer: read behind the asker's personal link",
    ),
    # Follow-up: the agreement's obligations watched until performed (PML art 31).
    N(
        "followup",
        "obligation due soon",
        "obligor",
        "sms",
        "followup/notices.py",
        "once, by the worker, a few days before the date (PML art 31: urge performance)",
    ),
    N(
        "followup",
        "obligation date missed",
        "mediator",
        "sms",
        "followup/notices.py",
        "once, by the worker, the day after the date; the mediator follows it up",
    ),
    N(
        "followup",
        "obligation date missed",
        "obligee",
        "sms",
        "followup/notices.py",
        "with their personal link to confirm it if it was in fact performed (a code to "
        "their phone when not logged in)",
    ),
    N(
        "followup",
        "performance confirmed or follow-up recorded",
        "nobody",
        "none",
        "followup/operations.py",
        "shown on the case page to its parties and mediator",
    ),
    # Governance: early warnings for the staff of the regions holding the cases.
    N(
        "governance",
        "early warning raised",
        "region staff",
        "sms",
        "governance/notices.py",
        "once per window, by the worker; no party is named, the list is read after logging in",
    ),
)
del N


def events() -> list[str]:
    """Each step once, in the table's order."""
    return list(dict.fromkeys(row.event for row in TABLE))


def rows_of(event: str) -> list[Notice]:
    return [row for row in TABLE if row.event == event]


LABELS = {"sms": "SMS", "both": "SMS + e-mail", "email": "e-mail", "none": "none"}


def as_markdown() -> str:
    lines = [
        "# Who is told what",
        "",
        "Made from `mediation/notify/table.py` (`python -m mediation.notify.table > "
        "docs/notifications.md`); `tests/notify/test_table.py` performs every step and checks "
        "the outbox got exactly these messages, to exactly these people.",
        "",
        "*SMS + e-mail*: a text message, and an e-mail too when the person gave an address "
        "(booking e-mails carry the calendar invitation). Codes are removed from the outbox "
        "once delivered.",
        "",
        "*art N*: the SPC's rules on online mediation (人民法院在线调解规则); *PML*: the "
        "People's Mediation Law; *CPL*: the Civil Procedure Law.",
    ]
    for stage in STAGES:
        lines += [
            "",
            f"## {stage.capitalize()}",
            "",
            "| Step | Who is told | Channel | Sent by | Why |",
            "|---|---|---|---|---|",
        ]
        for row in TABLE:
            if row.stage == stage:
                lines.append(
                    f"| {row.event} | {AUDIENCES[row.audience]} | {LABELS[row.channel]} "
                    f"| `{row.where}` | {row.why} |"
                )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(as_markdown(), end="")
