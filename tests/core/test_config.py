"""Configuration: environment variables, the development secret, production's refusal."""

import pytest

from mediation import create_app
from mediation.config import ConfigurationError


def test_production_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDIATION_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="MEDIATION_SECRET_KEY"):
        create_app({"ENV_NAME": "production", "INSTANCE_PATH": str(tmp_path)})
    monkeypatch.setenv("MEDIATION_SECRET_KEY", "short")
    with pytest.raises(ConfigurationError):
        create_app({"ENV_NAME": "production", "INSTANCE_PATH": str(tmp_path)})


def test_production_refuses_console_delivery(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIATION_SECRET_KEY", "k" * 48)
    with pytest.raises(ConfigurationError, match="MEDIATION_SMS_GATEWAY"):
        create_app({"ENV_NAME": "production", "INSTANCE_PATH": str(tmp_path)})


def test_production_starts_with_an_explicit_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIATION_SECRET_KEY", "k" * 48)
    monkeypatch.setenv("MEDIATION_SMS_GATEWAY", "http")
    monkeypatch.setenv("MEDIATION_SMS_URL", "https://sms.example/send")
    monkeypatch.setenv("MEDIATION_SMTP_HOST", "smtp.example")
    app = create_app({"ENV_NAME": "production", "INSTANCE_PATH": str(tmp_path)})
    assert app.config["SECRET_KEY"] == "k" * 48
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "secret_key").exists()


def test_development_generates_its_secret_once_and_keeps_it(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDIATION_SECRET_KEY", raising=False)
    first = create_app({"ENV_NAME": "development", "INSTANCE_PATH": str(tmp_path)})
    second = create_app({"ENV_NAME": "development", "INSTANCE_PATH": str(tmp_path)})
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'mediation.db'}"


def test_settings_come_from_mediation_environment_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIATION_DATABASE_URL", "postgres://u@db.example/mediation")
    monkeypatch.setenv("MEDIATION_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("MEDIATION_STORAGE_DIR", str(tmp_path / "files"))
    monkeypatch.setenv("MEDIATION_DEFAULT_LOCALE", "en")
    monkeypatch.setenv("MEDIATION_TIMEZONE", "Asia/Urumqi")
    monkeypatch.setenv("MEDIATION_SMTP_PORT", "2525")
    app = create_app({"ENV_NAME": "testing", "INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/mediation"
    assert app.config["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert app.config["STORAGE_DIR"] == str(tmp_path / "files")
    assert app.config["BABEL_DEFAULT_LOCALE"] == "en"
    assert app.config["BABEL_DEFAULT_TIMEZONE"] == "Asia/Urumqi"
    assert app.config["SMTP_PORT"] == 2525


def test_defaults_are_chinese_and_shanghai_time(tmp_path):
    app = create_app({"ENV_NAME": "testing", "INSTANCE_PATH": str(tmp_path)})
    assert app.config["BABEL_DEFAULT_LOCALE"] == "zh_Hans_CN"
    assert app.config["BABEL_DEFAULT_TIMEZONE"] == "Asia/Shanghai"


def test_unknown_mode_is_refused(tmp_path):
    with pytest.raises(ConfigurationError):
        create_app({"ENV_NAME": "staging", "INSTANCE_PATH": str(tmp_path)})


def test_behind_a_proxy_the_client_address_comes_from_forwarded_for(tmp_path):
    from flask import request

    for hops, expected in ((0, "127.0.0.1"), (1, "203.0.113.7")):
        app = create_app(
            {"ENV_NAME": "testing", "INSTANCE_PATH": str(tmp_path), "PROXY_HOPS": hops}
        )
        app.add_url_rule("/_address", "address", lambda: request.remote_addr)
        response = app.test_client().get("/_address", headers={"X-Forwarded-For": "203.0.113.7"})
        assert response.get_data(as_text=True) == expected


def test_ids_beyond_the_database_range_are_not_found(client):
    assert client.get("/cases/99999999999").status_code == 404
