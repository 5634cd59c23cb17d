"""dispute categories

Revision ID: 993e40403aba
Revises: 0e4d6d3c29e0
Create Date: 2026-11-22 16:29:10.022038+00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "993e40403aba"
down_revision = "0e4d6d3c29e0"
branch_labels = None
depends_on = None

# The categories a city platform starts with: (code, Chinese, English, judicial confirmation).
# Identity relations and confirming ownership cannot be judicially confirmed (SPC CPL
# interpretation 2022 art 355); family disputes about support or property can.
DEFAULT_CATEGORIES = [
    (
        "marriage_family",
        "婚姻家庭（抚养、赡养、家庭财产）",
        "Family: support, maintenance, family property",
        True,
    ),
    (
        "identity_relations",
        "身份关系（婚姻、收养、亲子关系）",
        "Identity relations: marriage, adoption, parentage",
        False,
    ),
    ("neighbourhood", "邻里纠纷", "Neighbourhood", True),
    ("adjacent_property", "相邻关系", "Adjacent property rights", True),
    ("property_services", "物业服务", "Property management services", True),
    ("tenancy", "房屋租赁", "Housing tenancy", True),
    ("labour", "劳动争议", "Labour dispute", True),
    ("service_contract", "劳务合同", "Labour services contract", True),
    ("sale_contract", "买卖合同", "Sale contract", True),
    ("private_lending", "民间借贷", "Private lending", True),
    ("financial_loan", "金融借款", "Financial loan", True),
    ("insurance", "保险", "Insurance", True),
    ("traffic_accident", "道路交通事故", "Road traffic accident", True),
    ("medical", "医疗纠纷", "Medical dispute", True),
    ("damages", "损害赔偿", "Compensation for damage", True),
    ("consumer", "消费者权益", "Consumer rights", True),
    ("e_commerce", "电子商务", "E-commerce", True),
    ("construction", "建设工程", "Construction project", True),
    ("partnership", "合伙", "Partnership", True),
    ("inheritance", "继承", "Inheritance", True),
    ("land_contracting", "土地承包经营", "Rural land contracting", True),
    ("homestead", "农村宅基地", "Rural homestead", True),
    ("land_requisition", "征地拆迁", "Land requisition and demolition", True),
    (
        "intellectual_property",
        "知识产权（合同、侵权）",
        "Intellectual property: contracts, infringement",
        True,
    ),
    (
        "ownership_confirmation",
        "物权、知识产权权属确认",
        "Confirming ownership of property or IP",
        False,
    ),
    ("other", "其他", "Other", True),
]


def upgrade():
    categories = op.create_table(
        "categories",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("judicial_confirmation", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_categories")),
    )
    op.bulk_insert(categories, default_rows())
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_category_categories"), "categories", ["category"], ["code"]
        )


def default_rows() -> list[dict]:
    return [
        {
            "code": code,
            "name_zh": name_zh,
            "name_en": name_en,
            "judicial_confirmation": confirmable,
            "active": True,
            "position": position,
        }
        for position, (code, name_zh, name_en, confirmable) in enumerate(DEFAULT_CATEGORIES, 1)
    ]


def downgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_cases_category_categories"), type_="foreignkey")
    op.drop_table("categories")
