"""session_ended: when the mediator ended a session in its room (it took place; the pages
stop offering to move, cancel or join it)

Revision ID: db869020254d
Revises: 3b8d52e07f1c
Create Date: 2026-12-04 20:30:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "db869020254d"
down_revision = "3b8d52e07f1c"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (no table rebuild on SQLite: the no-double-booking triggers stay).
    op.add_column("mediation_sessions", sa.Column("ended_at", sa.DateTime(), nullable=True))
    # Sessions already ended in their room read as ended too.
    op.execute(
        "UPDATE mediation_sessions SET ended_at = (SELECT rooms.ended_at FROM rooms "
        "WHERE rooms.session_id = mediation_sessions.id) "
        "WHERE id IN (SELECT session_id FROM rooms WHERE ended_at IS NOT NULL)"
    )


def downgrade():
    with op.batch_alter_table("mediation_sessions", schema=None) as batch_op:
        batch_op.drop_column("ended_at")
