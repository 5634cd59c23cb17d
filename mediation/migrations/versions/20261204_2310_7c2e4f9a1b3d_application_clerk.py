"""application_clerk: the court clerk (书记员) who handles a judicial confirmation, named
under the ruling with the judge

Revision ID: 7c2e4f9a1b3d
Revises: db869020254d
Create Date: 2026-12-04 23:10:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "7c2e4f9a1b3d"
down_revision = "db869020254d"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("confirmation_applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clerk_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_confirmation_applications_clerk_id_users"), "users", ["clerk_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("confirmation_applications", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_confirmation_applications_clerk_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("clerk_id")
