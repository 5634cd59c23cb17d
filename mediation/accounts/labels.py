"""What users see for the accounts feature's codes."""

from flask_babel import lazy_gettext as _l

from .models import CourtLevel, Role

ROLE_NAMES = {
    Role.party: _l("Party"),
    Role.mediator: _l("Mediator"),
    Role.institution_admin: _l("Institution administrator"),
    Role.court_clerk: _l("Court clerk"),
    Role.judge: _l("Judge"),
    Role.platform_admin: _l("Platform administrator"),
    Role.expert: _l("Consultation expert"),
    Role.governance: _l("Region staff (governance)"),
}

COURT_LEVEL_NAMES = {
    CourtLevel.basic: _l("Basic people's court"),
    CourtLevel.intermediate: _l("Intermediate people's court"),
}

# Sex as the identity card states it, read from the ID number (GB 11643).
SEX_NAMES = {"male": _l("male"), "female": _l("female")}


def ethnicity_label(code: str | None) -> str:
    """An ethnicity's name in the page's language."""
    from flask_babel import get_locale

    from .identity import ethnicity_name

    return ethnicity_name(code, english=str(get_locale() or "").startswith("en"))
