"""minutes: the electronic minutes of a session (SPC online mediation rules art 22)

Revision ID: 478b6d26e782
Revises: f79ca8bb327c
Create Date: 2026-11-22 21:37:21.810663+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "478b6d26e782"
down_revision = "f79ca8bb327c"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "minutes",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("attendees", sa.Text(), nullable=False),
        sa.Column("applicant_statement", sa.Text(), nullable=False),
        sa.Column("respondent_statement", sa.Text(), nullable=False),
        sa.Column("proposals", sa.Text(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["mediation_sessions.id"],
            name=op.f("fk_minutes_session_id_mediation_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_minutes_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_minutes")),
    )


def downgrade():
    op.drop_table("minutes")
