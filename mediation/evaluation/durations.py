"""How long each way takes: the limits the law sets.

The statutory limits are ceilings the court or mediator must keep, not forecasts; the page
says so, and shows the platform's own median beside the mediation limit where enough
similar mediations have closed (outcomes.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Limit:
    key: str
    what: LazyString  # the way of resolving the dispute
    limit: LazyString  # how long it may take, in words
    source: LazyString  # the article it comes from


LIMITS = (
    # SPC online mediation rules (2021) art 24: mediation before a suit is filed lasts 30
    # days; every party may agree to extend it.
    Limit(
        "mediation",
        _l("Mediation on this platform"),
        _l("30 days from acceptance; longer only if every party agrees"),
        _l("SPC Online Mediation Rules, art 24"),
    ),
    # SPC judicial confirmation provisions (2011) art 4 (accepted or not within 3 days) and
    # art 5 (decided within 15 days of acceptance, 10 more with the president's approval).
    Limit(
        "confirmation",
        _l("Judicial confirmation of the agreement"),
        _l("accepted within 3 days, decided within 15 days after that (10 more in special cases)"),
        _l(
            "SPC Provisions on Judicial Confirmation of People's Mediation Agreements, arts 4 and 5"
        ),
    ),
    # CPL (2023) art 164: a suit under the summary procedure is decided within 3 months of
    # filing; art 152: under the ordinary procedure within 6 months, both extendable.
    Limit(
        "summary",
        _l("A suit under the summary procedure"),
        _l("3 months from filing"),
        _l("Civil Procedure Law, art 164"),
    ),
    Limit(
        "ordinary",
        _l("A suit under the ordinary procedure"),
        _l("6 months from filing, extendable with the court president's approval"),
        _l("Civil Procedure Law, art 152"),
    ),
)
