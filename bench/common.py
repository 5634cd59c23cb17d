"""What the benchmarks share: a fresh database per backend, built by the migrations, and
percentiles."""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask
from flask_migrate import upgrade

from mediation import create_app
from mediation.extensions import db

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_database() -> tuple[str, Callable[[], None]]:
    import psycopg

    name = f"mediation_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


@contextmanager
def fresh_app(backend: str) -> Iterator[Flask]:
    """An app on an empty, migrated database of ``backend``, inside its app context."""
    with tempfile.TemporaryDirectory() as folder:
        if backend == "sqlite":
            url, drop = f"sqlite:///{folder}/bench.db", (lambda: None)
        else:
            url, drop = postgres_database()
        try:
            app = create_app(
                {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": folder}
            )
            with app.app_context():
                logging.disable(logging.INFO)  # Alembic's progress lines would break the table
                upgrade()
                logging.disable(logging.NOTSET)
                yield app
                db.session.remove()
                db.engine.dispose()
        finally:
            drop()


def percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[max(0, round(share * len(sorted_values)) - 1)]
