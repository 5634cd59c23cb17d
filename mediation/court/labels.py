"""The words users read for the states of an application."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .models import ApplicationStatus, DelegationStatus, MaterialKind

STATUS_NAMES = {
    ApplicationStatus.signing: _l("being signed by the parties"),
    ApplicationStatus.submitted: _l("waiting for acceptance"),
    ApplicationStatus.accepted: _l("accepted"),
    ApplicationStatus.confirmed: _l("confirmed"),
    ApplicationStatus.rejected: _l("not confirmed"),
    ApplicationStatus.refused: _l("not accepted"),
    ApplicationStatus.withdrawn: _l("withdrawn"),
}

MATERIAL_NAMES = {
    MaterialKind.identity: _l("identity proof"),
    MaterialKind.agreement: _l("the signed agreement"),
    MaterialKind.mediation_proof: _l("proof of mediation"),
    MaterialKind.property: _l("property-right proof"),
    MaterialKind.service: _l("service address"),
    MaterialKind.power_of_attorney: _l("power of attorney"),
    MaterialKind.supplement: _l("materials the court asked for"),
}

DELEGATION_STATUS_NAMES = {
    DelegationStatus.mediating: _l("in mediation"),
    DelegationStatus.agreement: _l("agreement reached"),
    DelegationStatus.failed: _l("mediation failed"),
    DelegationStatus.returned: _l("returned: the period ran out"),
}
