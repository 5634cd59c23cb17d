"""A plain `pip install .` carries the templates, static files, translations and migrations."""

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the checkout: setuptools would otherwise reuse ./build, where
    files of packages setup.cfg no longer lists can linger."""
    source = tmp_path_factory.mktemp("source") / "checkout"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "node_modules",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            "instance",
            ".pytest_cache",
            ".ruff_cache",
        ),
    )
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    return next(out.glob("*.whl"))


def test_the_wheel_holds_everything_the_app_reads(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "mediation/templates/base.html",
        "mediation/templates/accounts/login.html",
        "mediation/static/css/app.css",
        "mediation/static/vendor/pico/pico.min.css",
        "mediation/translations/zh_Hans_CN/LC_MESSAGES/messages.mo",
        "mediation/migrations/alembic.ini",
        "mediation/migrations/env.py",
        "mediation/migrations/script.py.mako",
        "signaling/__init__.py",
        "agreements/__init__.py",
    ):
        assert needed in names, needed
    assert any(n.startswith("mediation/migrations/versions/2026") for n in names)
    # Every Python package of the checkout is in the wheel (setup.cfg lists them by hand).
    packages = ("mediation/**/__init__.py", "signaling/**/__init__.py", "agreements/**/__init__.py")
    for init in [path for pattern in packages for path in ROOT.glob(pattern)]:
        module = init.relative_to(ROOT).as_posix()
        assert module in names, f"{module} is missing: add its package to setup.cfg"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "mediation = mediation.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_copy_serves_pages_in_chinese(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    script = (
        "import mediation, sys\n"
        f"assert mediation.__file__.startswith({str(target)!r}), mediation.__file__\n"
        "from flask_migrate import upgrade\n"
        f"settings = {{'ENV_NAME': 'testing', 'INSTANCE_PATH': {str(tmp_path / 'i')!r}}}\n"
        "app = mediation.create_app(settings)\n"
        "with app.app_context(): upgrade()\n"
        "client = app.test_client()\n"
        "page = client.get('/login').get_data(as_text=True)\n"
        "assert '手机号或电子邮箱' in page, page\n"
        "assert client.get('/static/vendor/pico/pico.min.css').status_code == 200\n"
        "print('ok')\n"
    )
    # -S: no .pth files, so the editable install of the checkout cannot supply a module
    # the wheel lacks; the dependencies come from site-packages on the path.
    site_packages = sysconfig.get_paths()["purelib"]
    result = subprocess.run(
        [sys.executable, "-S", "-c", script],
        env={"PYTHONPATH": f"{target}:{site_packages}", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,  # not the checkout, whose mediation/ would be imported instead
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip().endswith("ok"), result.stderr
