"""What users see for the journal's codes."""

from flask_babel import lazy_gettext as _l

from .operations import ENTRY_ALTERED, ENTRY_MISSING, HEAD_MISMATCH, HEAD_MISSING, LINK_BROKEN

BREAK_REASONS = {
    ENTRY_MISSING: _l("entry missing"),
    LINK_BROKEN: _l("link to previous entry broken"),
    ENTRY_ALTERED: _l("entry altered"),
    HEAD_MISMATCH: _l("head does not match last entry"),
    HEAD_MISSING: _l("the record of the journal's length is missing"),
}
