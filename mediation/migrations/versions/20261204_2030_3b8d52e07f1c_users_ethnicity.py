"""users_ethnicity: a party's 民族 (GB/T 3304 code) beside the ID number, for the
agreement's statement of the parties (People's Mediation Law art 29 (1))

Revision ID: 3b8d52e07f1c
Revises: 5e1c0a7d93b2
Create Date: 2026-12-04 20:30:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "3b8d52e07f1c"
down_revision = "5e1c0a7d93b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("ethnicity", sa.String(length=2), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("ethnicity")
