"""The dispute categories a city platform supports.

``judicial_confirmation`` is False where a court cannot confirm an agreement: identity
relations (marriage, adoption, parent-child) and confirming ownership of property or
intellectual property (SPC CPL interpretation 2022 art 355).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Category:
    code: str
    name: object  # a lazy translatable string
    judicial_confirmation: bool = True


DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category("marriage_family", _l("Marriage and family"), judicial_confirmation=False),
    Category("neighbourhood", _l("Neighbourhood")),
    Category("labour", _l("Labour dispute")),
    Category("property_services", _l("Property management services")),
    Category("tenancy", _l("Housing tenancy")),
    Category("sale_contract", _l("Sale contract")),
    Category("private_lending", _l("Private lending")),
    Category("traffic_accident", _l("Road traffic accident")),
    Category("medical", _l("Medical dispute")),
    Category("consumer", _l("Consumer rights")),
    Category("land_requisition", _l("Land requisition and demolition")),
    Category("land_contracting", _l("Rural land contracting")),
    Category("damages", _l("Compensation for damage")),
    Category("adjacent_property", _l("Adjacent property rights")),
    Category("construction", _l("Construction project")),
    Category("financial_loan", _l("Financial loan")),
    Category("insurance", _l("Insurance")),
    Category("intellectual_property", _l("Intellectual property")),
    Category("e_commerce", _l("E-commerce")),
    Category("service_contract", _l("Labour services contract")),
    Category("partnership", _l("Partnership")),
    Category("inheritance", _l("Inheritance")),
    Category("homestead", _l("Rural homestead")),
    Category("other", _l("Other")),
)

BY_CODE = {category.code: category for category in DEFAULT_CATEGORIES}


def category_name(code: str) -> str:
    category = BY_CODE.get(code)
    return str(category.name) if category else code
