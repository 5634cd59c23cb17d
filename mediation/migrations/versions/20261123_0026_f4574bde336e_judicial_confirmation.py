"""judicial confirmation: applications, their signatures, materials and the court's
requests, 调确字 numbers, court API tokens

Revision ID: f4574bde336e
Revises: 91708db0c138
Create Date: 2026-11-23 00:26:20.879137+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "f4574bde336e"
down_revision = "91708db0c138"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "court_api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("court_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["court_id"], ["courts.id"], name=op.f("fk_court_api_tokens_court_id_courts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_court_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_court_api_tokens_token_hash")),
    )
    with op.batch_alter_table("court_api_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_court_api_tokens_court_id"), ["court_id"], unique=False
        )

    op.create_table(
        "court_case_counters",
        sa.Column("court_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["court_id"], ["courts.id"], name=op.f("fk_court_case_counters_court_id_courts")
        ),
        sa.PrimaryKeyConstraint("court_id", "year", name=op.f("pk_court_case_counters")),
    )
    op.create_table(
        "confirmation_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("court_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("document_path", sa.String(length=300), nullable=True),
        sa.Column("document_sha256", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("acceptance_due_at", sa.DateTime(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("court_case_number", sa.String(length=60), nullable=True),
        sa.Column("ruling_due_at", sa.DateTime(), nullable=True),
        sa.Column("extended_at", sa.DateTime(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("ground", sa.String(length=40), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("decision_path", sa.String(length=300), nullable=True),
        sa.Column("decision_sha256", sa.String(length=64), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_confirmation_applications_agreement_id_agreements"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_confirmation_applications_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["court_id"], ["courts.id"], name=op.f("fk_confirmation_applications_court_id_courts")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_confirmation_applications_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_confirmation_applications_decided_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_confirmation_applications")),
        sa.UniqueConstraint(
            "court_case_number", name=op.f("uq_confirmation_applications_court_case_number")
        ),
    )
    with op.batch_alter_table("confirmation_applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_confirmation_applications_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_confirmation_applications_court_id"), ["court_id"], unique=False
        )

    op.create_table(
        "application_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("field_name", sa.String(length=40), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
        sa.Column("certificate_serial", sa.String(length=64), nullable=True),
        sa.Column("result_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["confirmation_applications.id"],
            name=op.f("fk_application_signatures_application_id_confirmation_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_application_signatures_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_signatures")),
        sa.UniqueConstraint(
            "application_id",
            "position",
            name=op.f("uq_application_signatures_application_id_position"),
        ),
    )
    with op.batch_alter_table("application_signatures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_signatures_application_id"), ["application_id"], unique=False
        )

    op.create_table(
        "supplement_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["confirmation_applications.id"],
            name=op.f("fk_supplement_requests_application_id_confirmation_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_supplement_requests_requested_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplement_requests")),
    )
    with op.batch_alter_table("supplement_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supplement_requests_application_id"), ["application_id"], unique=False
        )

    op.create_table(
        "application_materials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["users.id"], name=op.f("fk_application_materials_added_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["confirmation_applications.id"],
            name=op.f("fk_application_materials_application_id_confirmation_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["supplement_requests.id"],
            name=op.f("fk_application_materials_request_id_supplement_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_materials")),
    )
    with op.batch_alter_table("application_materials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_materials_application_id"), ["application_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("application_materials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_materials_application_id"))

    op.drop_table("application_materials")
    with op.batch_alter_table("supplement_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplement_requests_application_id"))

    op.drop_table("supplement_requests")
    with op.batch_alter_table("application_signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_signatures_application_id"))

    op.drop_table("application_signatures")
    with op.batch_alter_table("confirmation_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_confirmation_applications_court_id"))
        batch_op.drop_index(batch_op.f("ix_confirmation_applications_case_id"))

    op.drop_table("confirmation_applications")
    op.drop_table("court_case_counters")
    with op.batch_alter_table("court_api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_court_api_tokens_court_id"))

    op.drop_table("court_api_tokens")
