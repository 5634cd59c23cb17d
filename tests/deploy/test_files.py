"""The files of deploy/ agree with the application: the settings they name exist, nginx's
upload limit is the app's, the Socket.IO upstream pins a session to one process, and every
service restarts by itself. (tests/deploy/test_topology.py runs them.)"""

from __future__ import annotations

import re

from mediation.config import ENV_PREFIX, ENV_SETTINGS, Config
from tests.deploy.topology import DEPLOY, read_env_file, read_unit

# Read by `mediation run`, the app factory and select_config rather than ENV_SETTINGS.
OTHER_SETTINGS = {"ENV", "INSTANCE_PATH", "HOST", "PORT"}


def test_the_environment_files_name_only_settings_the_platform_reads():
    for path in sorted((DEPLOY / "env").glob("*.env.example")):
        for key in read_env_file(path):
            if key.startswith(ENV_PREFIX):
                name = key.removeprefix(ENV_PREFIX)
                assert name in ENV_SETTINGS or name in OTHER_SETTINGS, (path.name, key)


def test_nginx_refuses_what_the_app_would_refuse_and_pins_sessions():
    common = (DEPLOY / "nginx" / "common.conf").read_text()
    limit = re.search(r"client_max_body_size (\d+)m;", common).group(1)
    assert int(limit) * 2**20 == Config.MAX_CONTENT_LENGTH
    site = (DEPLOY / "nginx" / "mediation.conf").read_text()
    upstream = re.search(r"upstream mediation_socketio \{(.*?)\}", site, re.S).group(1)
    assert "hash $arg_session consistent;" in upstream
    assert "proxy_pass http://mediation_socketio;" in common.split("location /socket.io/")[1]


def test_every_service_restarts_and_web_processes_take_their_port_from_the_instance():
    web = read_unit("mediation-web@.service", "8001")
    assert web.environment["MEDIATION_PORT"] == "8001"
    assert web.exec_start[-2:] == ["run", "--no-migrate"]
    for name in ("mediation-web@.service", "mediation-worker.service",
                 "mediation-recorder@.service"):  # fmt: skip
        assert read_unit(name, "1").restart == "always", name
    assert read_unit("mediation-migrate.service").exec_start[-2:] == ["db", "upgrade"]
