"""agreements: the structured draft and its versions, comments, the signing rounds

Revision ID: 91708db0c138
Revises: 5d3c893c18cc
Create Date: 2026-11-22 23:35:52.438050+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "91708db0c138"
down_revision = "5d3c893c18cc"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("short_code", sa.String(length=16), nullable=False),
        sa.Column("document_path", sa.String(length=300), nullable=True),
        sa.Column("document_sha256", sa.String(length=64), nullable=True),
        sa.Column("effective_at", sa.DateTime(), nullable=True),
        sa.Column("refused_at", sa.DateTime(), nullable=True),
        sa.Column("refused_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_agreements_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["refused_by_id"], ["users.id"], name=op.f("fk_agreements_refused_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
        sa.UniqueConstraint("case_id", name=op.f("uq_agreements_case_id")),
        sa.UniqueConstraint("short_code", name=op.f("uq_agreements_short_code")),
    )
    op.create_table(
        "agreement_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_comments_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_agreement_comments_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_comments")),
    )
    with op.batch_alter_table("agreement_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_comments_agreement_id"), ["agreement_id"], unique=False
        )

    op.create_table(
        "agreement_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("field_name", sa.String(length=40), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("certificate_serial", sa.String(length=64), nullable=True),
        sa.Column("certificate_subject", sa.String(length=300), nullable=True),
        sa.Column("signed_document_sha256", sa.String(length=64), nullable=True),
        sa.Column("result_sha256", sa.String(length=64), nullable=True),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_signatures_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"], ["users.id"], name=op.f("fk_agreement_signatures_signed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_agreement_signatures_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_signatures")),
        sa.UniqueConstraint(
            "agreement_id",
            "round",
            "position",
            name=op.f("uq_agreement_signatures_agreement_id_round_position"),
        ),
    )
    with op.batch_alter_table("agreement_signatures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_signatures_agreement_id"), ["agreement_id"], unique=False
        )

    op.create_table(
        "agreement_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_versions_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_agreement_versions_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_versions")),
        sa.UniqueConstraint(
            "agreement_id", "number", name=op.f("uq_agreement_versions_agreement_id_number")
        ),
    )
    with op.batch_alter_table("agreement_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_versions_agreement_id"), ["agreement_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("agreement_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_versions_agreement_id"))

    op.drop_table("agreement_versions")
    with op.batch_alter_table("agreement_signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_signatures_agreement_id"))

    op.drop_table("agreement_signatures")
    with op.batch_alter_table("agreement_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_comments_agreement_id"))

    op.drop_table("agreement_comments")
    op.drop_table("agreements")
