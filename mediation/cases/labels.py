"""What users see for the cases feature's codes."""

from flask_babel import lazy_gettext as _l

from .models import Side
from .states import Action, CaseStatus, TerminationReason

STATUS_NAMES = {
    CaseStatus.draft: _l("draft"),
    CaseStatus.submitted: _l("waiting for acceptance"),
    CaseStatus.declined: _l("declined, to be reassigned"),
    CaseStatus.awaiting_respondent: _l("waiting for the respondent"),
    CaseStatus.in_mediation: _l("in mediation"),
    CaseStatus.agreement_drafted: _l("agreement drafted"),
    CaseStatus.signed: _l("agreement signed"),
    CaseStatus.confirmation_requested: _l("judicial confirmation requested"),
    CaseStatus.confirmed: _l("judicially confirmed"),
    CaseStatus.rejected: _l("judicial confirmation rejected"),
    CaseStatus.terminated: _l("terminated"),
}

ACTION_NAMES = {
    Action.submit: _l("submitted"),
    Action.accept: _l("accepted"),
    Action.decline: _l("declined"),
    Action.reassign: _l("reassigned"),
    Action.respondent_agrees: _l("agreed to by the respondent"),
    Action.respondent_refuses: _l("refused by the respondent"),
    Action.draft_agreement: _l("given a draft agreement"),
    Action.revise_agreement: _l("taken back to mediation"),
    Action.all_signed: _l("marked as signed"),
    Action.request_confirmation: _l("sent for judicial confirmation"),
    Action.confirm: _l("confirmed"),
    Action.reject: _l("rejected"),
    Action.withdraw_confirmation: _l("withdrawn from the court"),
    Action.refuse_acceptance: _l("not accepted by the court"),
    Action.terminate: _l("terminated"),
}

# SPC online mediation rules art 25.
TERMINATION_REASONS = {
    TerminationReason.agreement_reached: _l("the parties reached an agreement"),
    TerminationReason.withdrawn: _l("the parties settled and the application was withdrawn"),
    TerminationReason.unreachable: _l("a party could not be reached within the period"),
    TerminationReason.party_unwilling: _l("a party clearly does not want to continue"),
    TerminationReason.too_far_apart: _l("the positions are too far apart to agree"),
    TerminationReason.deadline_expired: _l("the period ended without agreement to extend it"),
    TerminationReason.refused_to_sign: _l("a party refused to sign the agreement"),
    TerminationReason.other: _l("another reason made mediation impossible"),
}

SIDE_NAMES = {Side.applicant: _l("Applicant"), Side.respondent: _l("Respondent")}

# Buttons on the case page, in the words of the person pressing them.
STEP_NAMES = {
    Action.accept: _l("Accept the case"),
    Action.decline: _l("Decline the case"),
    Action.respondent_agrees: _l("I agree to mediation"),
    Action.respondent_refuses: _l("I do not agree to mediation"),
    Action.draft_agreement: _l("An agreement is drafted"),
    Action.revise_agreement: _l("Back to mediation"),
    Action.request_confirmation: _l("Apply for judicial confirmation"),
    Action.terminate: _l("End mediation"),
}

# The journal's actions as the timeline shows them.
JOURNAL_LABELS = {
    "case.opened": _l("Case opened"),
    # A consultation turned into this case (mediation/consultation): what happened before.
    "consultation.asked": _l("Question asked in a consultation"),
    "consultation.answered": _l("Question answered by an expert"),
    "consultation.escalated": _l("Question not answered in time: administrators told"),
    "consultation.handed_over": _l("Question passed on to another expert"),
    "consultation.converted": _l("Consultation turned into this case"),
    "evaluation.made": _l("Court fees and time limits worked out before filing"),
    "reception.converted": _l("Reception talk turned into this case"),
    "case.assigned": _l("Assigned to a mediator"),
    "case.acceptance_overdue": _l("Not accepted within 3 working days"),
    "case.no_mediator_available": _l("No mediator available; waiting for the institution"),
    "case.queued": _l("Waiting to be given to a mediator"),
    "case.choice_lapsed": _l(
        "The institution or mediator chosen has not taken the case on; whoever chose was told "
        "they may choose again (art 12)"
    ),
    "case.chosen_again": _l("Another institution or mediator was chosen (art 12)"),
    "case.choice_released": _l("The choice of institution was left to the platform (art 12)"),
    "party.entered": _l("A party entered through the invitation link"),
    "party.consented": _l("A party consented to online mediation and gave a service address"),
    "party.identity_recorded": _l("A party's identity details were recorded"),
    "party.identity_confirmed": _l("The mediator confirmed a party's ID number on camera"),
    "respondent.invited": _l("The respondent was asked by text message"),
    "respondent.reminded": _l("The respondent was reminded"),
    "evidence.added": _l("Evidence added"),
    "case.mediator_changed": _l("The mediator was changed"),
    "conflict.disclosed": _l("The mediator disclosed a possible conflict of interest"),
    "conflict.accepted": _l("A party accepted the mediator after the disclosure"),
    "conflict.objected": _l("A party objected to the mediator after the disclosure"),
    "mediator.change_requested": _l("A party asked for another mediator"),
    "failure.recorded": _l("The record of the failed mediation was written (art 21)"),
    "failure.referral_issued": _l("The record was issued for online case filing"),
    "agreement.saved": _l("A version of the agreement was saved"),
    "agreement.commented": _l("A comment on the draft agreement"),
    "agreement.signing_opened": _l("The agreement was fixed for signing"),
    "agreement.signed": _l("The agreement was signed"),
    "agreement.signatures_voided": _l("The signatures given so far were voided"),
    "agreement.refused": _l("A party refused to sign the agreement"),
    "agreement.effective": _l("The agreement took effect"),
    "followup.performance_confirmed": _l("The obligee confirmed performance of an obligation"),
    "followup.recorded": _l("The mediator recorded a follow-up on performance"),
    "followup.performance_found": _l("The mediator found an obligation performed"),
    "archive.renewed": _l("A signed document's archive timestamp was renewed"),
    "delegation.received": _l("A court delegated the dispute to mediation before filing"),
    "delegation.result": _l("The result went back to the delegating court"),
    "confirmation.started": _l("An application for judicial confirmation was made"),
    "confirmation.signed": _l("A party signed the application"),
    "confirmation.submitted": _l("The application went to the court"),
    "confirmation.accepted": _l("The court accepted the application"),
    "confirmation.refused": _l("The court did not accept the application"),
    "confirmation.materials_requested": _l("The court asked for more materials"),
    "confirmation.extended": _l("The court extended the time to rule"),
    "confirmation.ruling_prepared": _l("The court prepared its decision for its signature"),
    "confirmation.confirmed": _l("The court confirmed the agreement"),
    "confirmation.rejected": _l("The court did not confirm the agreement"),
    "confirmation.withdrawn": _l("The parties withdrew the application"),
    "confirmation.material_added": _l("A party added a document for the court"),
    "extension.proposed": _l("Extension of the mediation period proposed"),
    "extension.consented": _l("A party agreed to the extension"),
    "extension.granted": _l("Mediation period extended"),
    "deadlines.recomputed": _l("Deadlines recomputed on the updated holiday calendar"),
    "reminder.acceptance": _l("The mediator was reminded to accept or decline"),
    "reminder.mediation_period": _l("Everyone was reminded that the mediation period ends soon"),
    "session.booked": _l("A session was booked"),
    "session.started_now": _l("The mediator started a session at once, as the parties agreed"),
    "session.offered": _l("Times for a session were offered"),
    "session.times_chosen": _l("A party chose the times they can attend"),
    "session.fixed": _l("The session time was fixed"),
    "session.rescheduled": _l("A session was moved"),
    "session.cancelled": _l("A session was cancelled"),
    "session.links_renewed": _l("New links to a session were sent"),
    "session.guest_invited": _l("Someone else was invited to a session (art 20)"),
    "agency.confirmed": _l("The party confirmed their agent"),
    "agency.refused": _l("The party said this person does not act for them"),
    "session.separate_consent": _l("A party agreed to separate sessions (art 16)"),
    "session.separate_consent_withdrawn": _l("A party withdrew consent to separate sessions"),
    "room.arrived": _l("Joined the session's room"),
    "room.left": _l("Left the session's room"),
    "room.admitted": _l("Admitted by the mediator"),
    "room.identity_confirmed": _l("Identity confirmed on camera"),
    "room.warning_acknowledged": _l("Acknowledged the warning against sham mediation (art 17)"),
    "room.recording_consent": _l("Answered whether the session may be recorded"),
    "room.started": _l("The session began"),
    "room.caucus": _l("The mediator talked with one side alone"),
    "room.joint": _l("Back to the joint session"),
    "room.chat": _l("Chat message"),
    "room.ended": _l("The mediator ended the session"),
    "minutes.saved": _l("The minutes were saved"),
    "minutes.review_opened": _l("The minutes were sent to the parties for review"),
    "minutes.confirmed": _l("A party confirmed the minutes"),
    "minutes.finalised": _l("The minutes PDF was made and kept"),
    "recording.finished": _l("A recording was finished and its hash kept"),
    "recording.composed": _l("The side-by-side review video was made"),
    **{f"case.{action}": _l("Case %(what)s", what=name) for action, name in ACTION_NAMES.items()},
}


def journal_label(action: str) -> str:
    return str(JOURNAL_LABELS.get(action, action))
