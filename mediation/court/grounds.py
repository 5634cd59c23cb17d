"""The grounds on which a court refuses to accept an application or refuses to confirm the
agreement, in the law's own order, with the words shown to the parties."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# SPC judicial confirmation provisions art 4 (2); CPL interpretation 2022 art 355.
REFUSAL = {
    "not_court_matter": _l("not a civil matter a court accepts (CPL interpretation art 355 (1))"),
    "no_jurisdiction": _l("this court is not competent (CPL art 205; art 355 (2))"),
    "identity_relation": _l("it asks to confirm an identity relation (provisions art 4 (2))"),
    "adoption": _l("it asks to confirm an adoption (provisions art 4 (3))"),
    "marriage": _l("it asks to confirm a marriage (provisions art 4 (4))"),
    "special_procedure": _l(
        "it falls under another special, public-notice or bankruptcy procedure (art 355 (4))"
    ),
    "ownership": _l("the agreement confirms ownership of property or IP (art 355 (5))"),
}

# SPC provisions art 7; CPL interpretation 2022 art 358.
REJECTION = {
    "mandatory_law": _l("it violates a mandatory provision of law (art 7 (1); art 358 (1))"),
    "public_interest": _l("it harms the state's or the public interest (art 7 (2))"),
    "third_party": _l("it harms the lawful rights of another person (art 7 (3))"),
    "public_order": _l("it violates public order and good morals (art 7 (4); art 358 (3))"),
    "not_voluntary": _l("it was not agreed voluntarily (art 358 (4))"),
    "unclear": _l("its content is unclear and cannot be confirmed (art 7 (5); art 358 (5))"),
    "other": _l("another reason it cannot be judicially confirmed (art 7 (6); art 358 (6))"),
}
