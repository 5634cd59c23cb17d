"""reception record edited: when the host last changed the record of a talk after first
saving it; the record's own time (recorded_at) stays the first save's (People's Mediation
Law art 27: the record of the work, kept true)

Revision ID: c4f8a2d6e1b7
Revises: c4f8a2d6e1b9
Create Date: 2026-12-07 11:00:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "c4f8a2d6e1b7"
down_revision = "c4f8a2d6e1b9"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reception_bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("reception_bookings", schema=None) as batch_op:
        batch_op.drop_column("edited_at")
