"""governance: finer places (area codes) of cases, institutions and region staff; early warnings

Revision ID: d3b7e1f5a9c2
Revises: c4e7a1f9d2b6
Create Date: 2026-12-05 06:20:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "d3b7e1f5a9c2"
down_revision = "c4e7a1f9d2b6"
branch_labels = None
depends_on = None

ROLES = (
    "role IN ('party', 'mediator', 'institution_admin', 'court_clerk', 'judge', "
    "'platform_admin', 'expert'{extra})"
)


def _roles(extra: str) -> None:
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_user_roles_known_role"), type_="check")
        batch_op.create_check_constraint("known_role", ROLES.format(extra=extra))


def upgrade():
    _roles(", 'governance'")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("area_code", sa.String(length=12), nullable=True))
    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("area_code", sa.String(length=12), nullable=True))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("area_code", sa.String(length=12), nullable=True))
        batch_op.create_index(
            "ix_cases_area_created",
            ["area_code", "created_at"],
            unique=False,
            postgresql_ops={"area_code": "varchar_pattern_ops"},
        )
        batch_op.create_index(
            "ix_cases_created_at",
            ["created_at"],
            unique=False,
            postgresql_include=[
                "id",
                "area_code",
                "category",
                "status",
                "institution_id",
                "termination_reason",
                "mediation_due_at",
                "acceptance_due_at",
            ],
        )
    # What is known already: the province of each case and the institution's division.
    op.execute(
        "UPDATE institutions SET area_code = CASE "
        "WHEN substr(region_code, 3, 4) = '0000' THEN substr(region_code, 1, 2) "
        "WHEN substr(region_code, 5, 2) = '00' THEN substr(region_code, 1, 4) "
        "ELSE region_code END WHERE region_code IS NOT NULL AND length(region_code) = 6"
    )
    op.execute(
        "UPDATE cases SET area_code = substr(region_code, 1, 2) "
        "WHERE region_code IS NOT NULL AND length(region_code) = 6"
    )
    # The institution's division where it lies in the case's province (or the province is
    # unknown), as mediation/governance/areas.py places new cases.
    op.execute(
        "UPDATE cases SET area_code = (SELECT i.area_code FROM institutions i "
        "WHERE i.id = cases.institution_id) "
        "WHERE EXISTS (SELECT 1 FROM institutions i WHERE i.id = cases.institution_id "
        "AND i.area_code IS NOT NULL "
        "AND (cases.area_code IS NULL OR substr(i.area_code, 1, 2) = cases.area_code))"
    )
    op.create_table(
        "governance_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("area_code", sa.String(length=12), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("case_count", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('surge', 'respondent')", name=op.f("ck_governance_warnings_known_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_governance_warnings")),
        sa.UniqueConstraint("kind", "key", "window_start", name="uq_governance_warnings_once"),
    )
    with op.batch_alter_table("governance_warnings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_governance_warnings_area_code"), ["area_code"], unique=False
        )
    op.create_table(
        "governance_warning_cases",
        sa.Column("warning_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_governance_warning_cases_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["warning_id"],
            ["governance_warnings.id"],
            name=op.f("fk_governance_warning_cases_warning_id_governance_warnings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("warning_id", "case_id", name=op.f("pk_governance_warning_cases")),
    )
    op.create_table(
        "governance_warning_keys",
        sa.Column("warning_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["warning_id"],
            ["governance_warnings.id"],
            name=op.f("fk_governance_warning_keys_warning_id_governance_warnings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("warning_id", "key", name=op.f("pk_governance_warning_keys")),
    )
    with op.batch_alter_table("governance_warning_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_governance_warning_keys_key"), ["key"], unique=False)


def downgrade():
    with op.batch_alter_table("governance_warning_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_governance_warning_keys_key"))
    op.drop_table("governance_warning_keys")
    op.drop_table("governance_warning_cases")
    with op.batch_alter_table("governance_warnings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_governance_warnings_area_code"))
    op.drop_table("governance_warnings")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_created_at")
        batch_op.drop_index("ix_cases_area_created")
        batch_op.drop_column("area_code")
    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.drop_column("area_code")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("area_code")
    op.execute("DELETE FROM user_roles WHERE role = 'governance'")
    _roles("")
