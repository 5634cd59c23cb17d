"""delegation choice lapsed: when the institution a court chose for a delegated dispute
declined it or let its three working days pass, so that the court may designate another
(SPC online mediation rules art 12 para 2)

Revision ID: b3e9d1f7a2c5
Revises: a7d2e9c4b6f1
Create Date: 2026-12-06 07:00:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b3e9d1f7a2c5"
down_revision = "a7d2e9c4b6f1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("court_delegations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("choice_lapsed_at", sa.DateTime(), nullable=True))
    # Lapses journaled before this revision: the court may designate another now too.
    op.execute(
        """
        UPDATE court_delegations SET choice_lapsed_at = (
            SELECT MAX(j.created_at) FROM journal_entries j
            WHERE j.case_id = court_delegations.case_id AND j.action = 'case.choice_lapsed'
        )
        WHERE status = 'mediating'
          AND case_id IN (SELECT id FROM cases WHERE status IN ('submitted', 'declined'))
        """
    )


def downgrade():
    with op.batch_alter_table("court_delegations", schema=None) as batch_op:
        batch_op.drop_column("choice_lapsed_at")
