"""What users see for the cases feature's codes."""

from flask_babel import lazy_gettext as _l

from .models import CaseStatus, Side

STATUS_NAMES = {
    CaseStatus.intake: _l("Intake"),
    CaseStatus.mediating: _l("In mediation"),
    CaseStatus.settled: _l("Settled"),
    CaseStatus.terminated: _l("Terminated"),
}

SIDE_NAMES = {Side.applicant: _l("Applicant"), Side.respondent: _l("Respondent")}
