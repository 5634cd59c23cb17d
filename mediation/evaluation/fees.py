"""Court fees (案件受理费) under the State Council's 诉讼费用交纳办法 (2006, Order No. 481).

Pure functions on Decimal yuan. The schedule for property cases (art 13 (1)) is cumulative
by tiers: each tier's rate applies only to the part of the claim inside that tier, so the
fee of any amount is the fee at the tier's lower edge plus the rate times the excess.
Amounts are rounded to the fen, half up; courts state fees in yuan and fen.

What does *not* cost a fee matters as much to a party deciding where to go:
- people's mediation is free (People's Mediation Law art 4);
- judicial confirmation of a mediation agreement is a special-procedure case (CPL 2023
  arts 205-206, chapter 15), and special-procedure cases pay no acceptance fee (办法 art 8 (1)).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")
TEN_THOUSAND = Decimal(10_000)

# 办法 art 13 (1): (upper edge of the tier in yuan, rate applied to the part inside it).
# The first tier is a flat 50 yuan per case for claims up to 10,000 yuan.
PROPERTY_TIERS: tuple[tuple[Decimal | None, Decimal], ...] = (
    (Decimal(100_000), Decimal("0.025")),
    (Decimal(200_000), Decimal("0.02")),
    (Decimal(500_000), Decimal("0.015")),
    (Decimal(1_000_000), Decimal("0.01")),
    (Decimal(2_000_000), Decimal("0.009")),
    (Decimal(5_000_000), Decimal("0.008")),
    (Decimal(10_000_000), Decimal("0.007")),
    (Decimal(20_000_000), Decimal("0.006")),
    (None, Decimal("0.005")),
)
PROPERTY_FLAT = Decimal(50)

# 办法 art 13 (4): labour disputes pay 10 yuan per case, whatever the amount.
LABOUR_FEE = Decimal(10)

# 办法 art 14 (1): applying for enforcement of a judgment, ruling or confirmed agreement.
# Paid after enforcement, not in advance (art 20 (2)).
ENFORCEMENT_TIERS: tuple[tuple[Decimal | None, Decimal], ...] = (
    (Decimal(500_000), Decimal("0.015")),
    (Decimal(5_000_000), Decimal("0.01")),
    (Decimal(10_000_000), Decimal("0.005")),
    (None, Decimal("0.001")),
)
ENFORCEMENT_FLAT = Decimal(50)

# The categories whose suits are labour disputes in the sense of art 13 (4).
LABOUR_CATEGORIES = frozenset({"labour"})


def _tiered(amount: Decimal, flat: Decimal, tiers) -> Decimal:
    """``flat`` for the first 10,000 yuan, then each tier's rate on the part inside it."""
    if amount < 0:
        raise ValueError("an amount cannot be negative")
    fee = flat
    lower = TEN_THOUSAND
    for upper, rate in tiers:
        if amount <= lower:
            break
        part = amount - lower if upper is None else min(amount, upper) - lower
        fee += part * rate
        if upper is None:
            break
        lower = upper
    return fee.quantize(FEN, rounding=ROUND_HALF_UP)


def property_case_fee(amount: Decimal) -> Decimal:
    """The acceptance fee of a property case claiming ``amount`` yuan (办法 art 13 (1))."""
    return _tiered(Decimal(amount), PROPERTY_FLAT, PROPERTY_TIERS)


def enforcement_fee(amount: Decimal) -> Decimal:
    """The fee for applying to enforce ``amount`` yuan (办法 art 14 (1))."""
    return _tiered(Decimal(amount), ENFORCEMENT_FLAT, ENFORCEMENT_TIERS)


def halved(fee: Decimal) -> Decimal:
    return (fee / 2).quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class FeeEstimate:
    """What each way of resolving a money claim costs in fees, in yuan."""

    amount: Decimal
    labour: bool
    ordinary: Decimal  # a suit under the ordinary procedure (art 13)
    summary: Decimal  # under the summary procedure: halved (art 16)
    # The suit ends by the court's mediation or is withdrawn: halved (art 15).
    settled_in_court: Decimal
    enforcement: Decimal  # applying to enforce the amount if it is not paid (art 14)
    mediation: Decimal = Decimal(0)  # People's Mediation Law art 4
    judicial_confirmation: Decimal = Decimal(0)  # 办法 art 8 (1), a special procedure


def estimate(amount: Decimal, category: str | None = None) -> FeeEstimate:
    """Every fee a party weighing court against mediation needs, for one claim."""
    amount = Decimal(amount)
    labour = category in LABOUR_CATEGORIES
    ordinary = LABOUR_FEE if labour else property_case_fee(amount)
    return FeeEstimate(
        amount=amount,
        labour=labour,
        ordinary=ordinary,
        summary=halved(ordinary),
        settled_in_court=halved(ordinary),
        enforcement=enforcement_fee(amount),
    )
