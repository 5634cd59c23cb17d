"""/healthz tells a load balancer whether the database answers."""

from mediation import create_app


def test_healthy_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_unavailable_when_postgres_does_not_answer(tmp_path):
    app = create_app(
        {
            "ENV_NAME": "testing",
            "INSTANCE_PATH": str(tmp_path),
            # Nothing listens on port 1 of the loopback: the connection is refused at once.
            "SQLALCHEMY_DATABASE_URI": "postgresql://postgres@127.0.0.1:1/nothing",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"


def test_unavailable_when_the_sqlite_file_cannot_be_opened(tmp_path):
    app = create_app(
        {
            "ENV_NAME": "testing",
            "INSTANCE_PATH": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing-dir/db.sqlite",
        }
    )
    assert app.test_client().get("/healthz").status_code == 503
