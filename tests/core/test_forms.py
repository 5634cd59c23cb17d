"""What the features' forms share (mediation/core/forms.py)."""

from __future__ import annotations

import pytest

from mediation.core.forms import listed


@pytest.mark.parametrize(
    ("typed", "items"),
    [
        ("普通话、粤语", ["普通话", "粤语"]),
        ("普通话，粤语；闽南话", ["普通话", "粤语", "闽南话"]),
        ("Mandarin, Cantonese", ["Mandarin", "Cantonese"]),
        ("  Sign language ,, ", ["Sign language"]),
        ("", []),
        (None, []),
    ],
)
def test_a_list_typed_in_one_field_is_split_at_any_comma(typed, items):
    assert listed(typed) == items
