"""Court fees against worked examples of 诉讼费用交纳办法 (State Council Order No. 481).

Each expected figure is worked by hand from the schedule of art 13 (1) — 50 yuan up to
10,000; then 2.5% / 2% / 1.5% / 1% / 0.9% / 0.8% / 0.7% / 0.6% / 0.5% of the part inside
each tier — and agrees with the fee tables courts publish (e.g. 100,000 yuan → 2,300 yuan,
1,000,000 → 13,800, 10,000,000 → 81,800).
"""

from decimal import Decimal

import pytest

from mediation.evaluation import fees

D = Decimal

PROPERTY_EXAMPLES = [
    # (claim, fee, how)
    (D("1"), D("50.00"), "art 13 (1) 1: a flat 50 yuan up to 10,000"),
    (D("10000"), D("50.00"), "the edge of the first tier"),
    (D("10000.04"), D("50.00"), "0.04 × 2.5% = 0.001, rounded to the fen"),
    (D("12345.67"), D("108.64"), "50 + 2,345.67 × 2.5% = 108.64175"),
    (D("50000"), D("1050.00"), "50 + 40,000 × 2.5%"),
    (D("100000"), D("2300.00"), "50 + 90,000 × 2.5%: the first two tiers"),
    (D("150000"), D("3300.00"), "2,300 + 50,000 × 2%"),
    (D("200000"), D("4300.00"), "2,300 + 100,000 × 2%"),
    (D("350000"), D("6550.00"), "4,300 + 150,000 × 1.5%"),
    (D("500000"), D("8800.00"), "4,300 + 300,000 × 1.5%"),
    (D("1000000"), D("13800.00"), "8,800 + 500,000 × 1%"),
    (D("2000000"), D("22800.00"), "13,800 + 1,000,000 × 0.9%"),
    (D("5000000"), D("46800.00"), "22,800 + 3,000,000 × 0.8%"),
    (D("10000000"), D("81800.00"), "46,800 + 5,000,000 × 0.7%"),
    (D("20000000"), D("141800.00"), "81,800 + 10,000,000 × 0.6%"),
    (D("30000000"), D("191800.00"), "141,800 + 10,000,000 × 0.5%: the open top tier"),
]


@pytest.mark.parametrize(("claim", "fee", "how"), PROPERTY_EXAMPLES)
def test_property_case_fee_matches_the_schedule(claim, fee, how):
    assert fees.property_case_fee(claim) == fee, how


ENFORCEMENT_EXAMPLES = [
    # art 14 (1): 50 up to 10,000; 1.5% to 500,000; 1% to 5 million; 0.5% to 10 million;
    # 0.1% above.
    (D("8000"), D("50.00")),
    (D("100000"), D("1400.00")),  # 50 + 90,000 × 1.5%
    (D("500000"), D("7400.00")),  # 50 + 490,000 × 1.5%
    (D("1000000"), D("12400.00")),  # 7,400 + 500,000 × 1%
    (D("10000000"), D("77400.00")),  # 7,400 + 4,500,000 × 1% + 5,000,000 × 0.5%
    (D("20000000"), D("87400.00")),  # 77,400 + 10,000,000 × 0.1%
]


@pytest.mark.parametrize(("claim", "fee"), ENFORCEMENT_EXAMPLES)
def test_enforcement_fee_matches_the_schedule(claim, fee):
    assert fees.enforcement_fee(claim) == fee


def test_summary_procedure_and_settlement_in_court_halve_the_fee():
    # arts 15 and 16: 2,300 for 100,000 yuan becomes 1,150.
    estimate = fees.estimate(D("100000"), "neighbourhood")
    assert (estimate.ordinary, estimate.summary, estimate.settled_in_court) == (
        D("2300.00"),
        D("1150.00"),
        D("1150.00"),
    )
    # Half of 108.64 is 54.32; half of an odd fen rounds half up.
    assert fees.estimate(D("12345.67")).summary == D("54.32")
    assert fees.halved(D("0.05")) == D("0.03")


def test_mediation_and_judicial_confirmation_cost_nothing():
    estimate = fees.estimate(D("5000000"))
    assert estimate.mediation == 0  # People's Mediation Law art 4
    assert estimate.judicial_confirmation == 0  # 办法 art 8 (1): a special procedure


def test_a_labour_dispute_pays_ten_yuan_whatever_the_amount():
    estimate = fees.estimate(D("300000"), "labour")  # art 13 (4)
    assert estimate.labour and estimate.ordinary == D("10.00") and estimate.summary == D("5.00")
    # Enforcing the award still follows art 14 (1).
    assert estimate.enforcement == D("4400.00")


def test_a_negative_amount_is_refused():
    with pytest.raises(ValueError):
        fees.property_case_fee(D("-1"))
