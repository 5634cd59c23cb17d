"""What a row of the notification table says: the step, who is told, by which channel, by
which module, and why; the names of the audiences, channels and stages it may use."""

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
    "withdrawn expert": "the expert who had taken the question, from whom it is taken",
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
