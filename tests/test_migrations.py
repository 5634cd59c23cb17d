"""The migrations build the models' schema from empty, on SQLite and on PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from mediation import create_app
from mediation.extensions import db


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return request.getfixturevalue("fresh_postgres_database")()


def test_upgrade_from_empty_matches_the_models_and_downgrades(empty_database, tmp_path):
    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": empty_database,
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    with app.app_context():
        assert inspect(db.engine).get_table_names() == []
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == [], (
            "the models and the migrations disagree: run `mediation db migrate`"
        )
        foreign_keys = inspect(db.engine).get_foreign_keys("institutions")
        assert [fk["referred_table"] for fk in foreign_keys] == ["users"]

        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()


def test_only_staff_numbers_count_as_proven_after_the_upgrade(empty_database, tmp_path):
    """Issue #15 item 1: a code that was merely replaced was marked used too, so old codes
    prove nothing; a squatter who pressed "forgot password" twice stays unproven."""
    from sqlalchemy import text

    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": empty_database,
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    with app.app_context():
        upgrade(revision="f4574bde336e")
        with db.engine.begin() as conn:
            for user_id, role in ((1, "party"), (2, "mediator")):
                conn.execute(
                    text(
                        "INSERT INTO users (id, real_name, phone, password_hash, active, "
                        "session_version, created_at) VALUES (:id, '某人', :phone, 'x', "
                        "true, 1, '2026-11-30 08:00:00')"
                    ),
                    {"id": user_id, "phone": f"+861390000000{user_id}"},
                )
                conn.execute(
                    text("INSERT INTO user_roles (user_id, role) VALUES (:id, :role)"),
                    {"id": user_id, "role": role},
                )
                conn.execute(
                    text(
                        "INSERT INTO one_time_codes (user_id, purpose, code_hash, sent_to, "
                        "attempts, expires_at, consumed_at, created_at) VALUES (:id, "
                        "'password_reset', 'h', :phone, 0, '2026-11-30 08:10:00', "
                        "'2026-11-30 08:01:00', '2026-11-30 08:00:00')"
                    ),
                    {"id": user_id, "phone": f"+861390000000{user_id}"},
                )
        upgrade()
        with db.engine.connect() as conn:
            proven = dict(conn.execute(text("SELECT id, phone_verified_at FROM users")).all())
        assert proven[1] is None
        assert proven[2] is not None


def test_existing_cases_get_their_institution_s_division_within_their_province(
    empty_database, tmp_path
):
    """Issue #21: a case accepted by a district's institution before the upgrade is counted
    in that district, unless the institution is in another province."""
    from sqlalchemy import text

    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": empty_database,
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    with app.app_context():
        upgrade(revision="c4e7a1f9d2b6")
        with db.engine.begin() as conn:
            for number, region in ((1, "320102"), (2, "330102")):
                conn.execute(
                    text(
                        "INSERT INTO institutions (id, name, region_code, address, "
                        "record_caucus, created_at) VALUES (:id, :name, :region, '某地', "
                        "false, '2026-11-30 08:00:00')"
                    ),
                    {"id": number, "name": f"第{number}调解委员会", "region": region},
                )
            category = conn.execute(text("SELECT code FROM categories")).scalars().first()
            for number, region, institution in (
                (1, "320000", 1),
                (2, "320000", 2),
                (3, None, 1),
                (4, "320000", None),
            ):
                conn.execute(
                    text(
                        "INSERT INTO cases (id, number, category, title, facts, region_code, "
                        "status, institution_id, created_at, version) VALUES (:id, :number, "
                        ":category, '纠纷', '', :region, 'accepted', :institution, "
                        "'2026-11-30 08:00:00', 1)"
                    ),
                    {
                        "id": number,
                        "number": f"N{number}",
                        "category": category,
                        "region": region,
                        "institution": institution,
                    },
                )
        upgrade()
        with db.engine.connect() as conn:
            areas = dict(conn.execute(text("SELECT id, area_code FROM cases")).all())
        assert areas == {1: "320102", 2: "32", 3: "320102", 4: "32"}


def test_lapses_journaled_before_the_upgrade_let_the_court_designate_again(
    empty_database, tmp_path
):
    """A delegated case whose chosen institution declined before the upgrade (journaled
    ``case.choice_lapsed``) may be designated again after it; one accepted since may not."""
    from sqlalchemy import text

    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": empty_database,
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    with app.app_context():
        upgrade(revision="a7d2e9c4b6f1")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO courts (id, name, level, region_code, address) "
                    "VALUES (1, '某人民法院', 'basic', '320102', '')"
                )
            )
            category = conn.execute(text("SELECT code FROM categories")).scalars().first()
            for number, status in ((1, "declined"), (2, "awaiting_respondent")):
                conn.execute(
                    text(
                        "INSERT INTO cases (id, number, category, title, facts, status, "
                        "created_at, version) VALUES (:id, :number, :category, '纠纷', '', "
                        ":status, '2026-11-30 08:00:00', 1)"
                    ),
                    {"id": number, "number": f"N{number}", "category": category, "status": status},
                )
                conn.execute(
                    text(
                        "INSERT INTO court_delegations (id, court_id, case_id, reference, "
                        "status, delegated_at, deadline_at) VALUES (:id, 1, :id, :reference, "
                        "'mediating', '2026-11-30 08:00:00', '2026-12-30 08:00:00')"
                    ),
                    {"id": number, "reference": f"（2026）苏0102民诉前调{number}号"},
                )
                conn.execute(
                    text(
                        "INSERT INTO journal_entries (case_id, seq, action, payload, "
                        "created_at, prev_hash, hash) VALUES (:id, 1, 'case.choice_lapsed', "
                        "'{}', '2026-12-01 08:00:00', '', '')"
                    ),
                    {"id": number},
                )
        upgrade()
        with db.engine.connect() as conn:
            lapsed = dict(
                conn.execute(text("SELECT case_id, choice_lapsed_at FROM court_delegations")).all()
            )
        assert lapsed[1] is not None and str(lapsed[1]).startswith("2026-12-01 08:00")
        assert lapsed[2] is None
