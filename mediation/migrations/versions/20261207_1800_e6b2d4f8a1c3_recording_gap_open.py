"""recording gap open: when the stream of an open file stopped reaching the recorder (a gap
begun and not yet ended); the room does not say "recording" for a stream in a gap (SPC
online mediation rules art 22: what is shown as recorded is)

Revision ID: e6b2d4f8a1c3
Revises: d5a1c3e7f9b2
Create Date: 2026-12-07 18:00:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "e6b2d4f8a1c3"
down_revision = "d5a1c3e7f9b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gap_since", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_column("gap_since")
