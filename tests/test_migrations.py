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
