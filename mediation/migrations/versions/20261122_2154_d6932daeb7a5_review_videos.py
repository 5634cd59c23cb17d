"""review videos: one side-by-side video of a session, composed after it

Revision ID: d6932daeb7a5
Revises: 478b6d26e782
Create Date: 2026-11-22 21:54:37.466317+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "d6932daeb7a5"
down_revision = "478b6d26e782"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "compositions",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["mediation_sessions.id"],
            name=op.f("fk_compositions_session_id_mediation_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_compositions")),
    )


def downgrade():
    op.drop_table("compositions")
