"""agents and power of attorney

Revision ID: 0191dcf41743
Revises: 4b1d47cdde4f
Create Date: 2026-11-22 17:34:56.471172+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0191dcf41743"
down_revision = "4b1d47cdde4f"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("case_parties", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_agent", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("represents_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_case_parties_represents_id_users"), "users", ["represents_id"], ["id"]
        )

    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=24), server_default="evidence", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_column("kind")

    with op.batch_alter_table("case_parties", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_case_parties_represents_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("represents_id")
        batch_op.drop_column("is_agent")
