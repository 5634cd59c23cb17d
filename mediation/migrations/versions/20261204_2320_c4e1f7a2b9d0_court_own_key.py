"""court_own_key: a court's own trust roots, and rulings awaiting the court's signature

Revision ID: c4e1f7a2b9d0
Revises: 7c2e4f9a1b3d
Create Date: 2026-12-04 23:20:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "c4e1f7a2b9d0"
down_revision = "7c2e4f9a1b3d"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("courts", sa.Column("trust_roots_pem", sa.Text(), nullable=True))
    op.create_table(
        "court_rulings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("ground", sa.String(length=40), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("document_path", sa.String(length=300), nullable=False),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.Column("superseded_at", sa.DateTime(), nullable=True),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["confirmation_applications.id"],
            name=op.f("fk_court_rulings_application_id_confirmation_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_court_rulings_decided_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_court_rulings")),
    )
    with op.batch_alter_table("court_rulings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_court_rulings_application_id"), ["application_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("court_rulings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_court_rulings_application_id"))
    op.drop_table("court_rulings")
    with op.batch_alter_table("courts", schema=None) as batch_op:
        batch_op.drop_column("trust_roots_pem")
