"""proven phones and claimed ID numbers: users.phone_verified_at, id_confirmed_at/by (an ID
number is unique only once confirmed), registration codes without a user, the name a party
was named by, an agent's confirmed agency

Revision ID: a7c3e9d15b42
Revises: f4574bde336e
Create Date: 2026-12-04 17:20:00+00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a7c3e9d15b42"
down_revision = "f4574bde336e"
branch_labels = None
depends_on = None

CONFIRMED = sa.text("id_confirmed_at IS NOT NULL")


def _sqlite_foreign_keys(on: bool) -> None:
    """Rebuilding ``users`` on SQLite drops the old table: with foreign keys on, that would
    delete (cascade) or refuse on every row that refers to a user. SQLite ignores the
    pragma inside a transaction, so the one pysqlite opened for earlier steps ends first."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    raw = bind.connection.dbapi_connection
    if raw.in_transaction:
        raw.commit()
    raw.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")


def upgrade():
    _sqlite_foreign_keys(False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_verified_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("id_confirmed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("id_confirmed_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_users_id_confirmed_by_id_users", "users", ["id_confirmed_by_id"], ["id"]
        )
        batch_op.drop_constraint("uq_users_id_number", type_="unique")
        batch_op.create_index(
            "uq_users_confirmed_id_number",
            ["id_number"],
            unique=True,
            sqlite_where=CONFIRMED,
            postgresql_where=CONFIRMED,
        )
    _sqlite_foreign_keys(True)

    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f("ix_one_time_codes_sent_to"), ["sent_to"], unique=False)
        batch_op.add_column(sa.Column("bound_to", sa.String(length=64), nullable=True))

    with op.batch_alter_table("case_parties", schema=None) as batch_op:
        batch_op.add_column(sa.Column("named_name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("agency_confirmed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("agency_confirmed_how", sa.String(length=16), nullable=True))

    # Who already proved their number cannot be told from old codes: a code replaced by a
    # newer one was marked used too. Staff accounts were opened by an administrator (or at
    # the server's console), so their numbers count as proven; everyone else proves theirs
    # with a code at their next login (a squatter cannot).
    op.execute(
        """
        UPDATE users SET phone_verified_at = created_at
        WHERE id IN (SELECT user_id FROM user_roles WHERE role <> 'party')
        """
    )


def downgrade():
    with op.batch_alter_table("case_parties", schema=None) as batch_op:
        batch_op.drop_column("agency_confirmed_how")
        batch_op.drop_column("agency_confirmed_at")
        batch_op.drop_column("named_name")

    op.execute("DELETE FROM one_time_codes WHERE user_id IS NULL")
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.drop_column("bound_to")
        batch_op.drop_index(batch_op.f("ix_one_time_codes_sent_to"))
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)

    _sqlite_foreign_keys(False)
    # Claims other than the confirmed one (or the first) are dropped to restore uniqueness.
    op.execute(
        """
        UPDATE users SET id_number = NULL WHERE id_number IS NOT NULL AND id <> (
            SELECT u.id FROM users u WHERE u.id_number = users.id_number
            ORDER BY u.id_confirmed_at IS NULL, u.id LIMIT 1
        )
        """
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("uq_users_confirmed_id_number")
        batch_op.create_unique_constraint("uq_users_id_number", ["id_number"])
        batch_op.drop_constraint("fk_users_id_confirmed_by_id_users", type_="foreignkey")
        batch_op.drop_column("id_confirmed_by_id")
        batch_op.drop_column("id_confirmed_at")
        batch_op.drop_column("phone_verified_at")
    _sqlite_foreign_keys(True)
