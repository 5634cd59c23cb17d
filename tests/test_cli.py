"""The `mediation` command: demo data and its logins."""

from sqlalchemy import func, select

from mediation.accounts.models import Role, User
from mediation.cases.models import Case
from mediation.extensions import db
from mediation.journal.operations import verify_chain
from tests.conftest import login


def test_demo_seeds_every_role_once_and_prints_working_logins(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0
    with app.app_context():
        users = db.session.scalars(select(User)).all()
        assert {role for user in users for role in user.roles} == set(Role)
        assert db.session.scalar(select(func.count(Case.id))) == 2
        for case in db.session.scalars(select(Case)):
            assert case.mediator is not None and len(case.parties) == 2
            assert verify_chain(case.id).ok
        signed = db.session.scalar(select(Case).where(Case.status == "signed"))
        assert signed is not None and signed.signed_at is not None
    for role in Role:
        assert role.value in result.output
    assert "/join/" in result.output
    phone = next(
        line.split()[1] for line in result.output.splitlines() if line.strip().startswith("judge")
    )
    assert login(app.test_client(), phone, "mediation-demo").headers["Location"].endswith("/court/")
    # The signed agreement it points at verifies (every signature, the platform's root).
    path = next(
        line.split()[-1] for line in result.output.splitlines() if "A signed agreement" in line
    )
    checked = runner.invoke(args=["agreement", "verify", path])
    assert checked.exit_code == 0, checked.output
    assert "VALID: 4 signature(s)" in checked.output


def test_worker_once_delivers_what_is_due(app, runner):
    from mediation.notify import operations as outbox

    with app.app_context():
        outbox.queue_sms("+8613800138000", "hello")
        db.session.commit()
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0
    assert "1 sent, 0 failed" in result.output


def test_pki_fingerprint_and_export_root_publish_the_platform_root(app, runner, tmp_path):
    import shutil
    import subprocess

    from agreements.anchors import fingerprint
    from mediation.agreements import credentials

    with app.app_context():
        root = credentials.authority().root
    printed = runner.invoke(args=["pki", "fingerprint"])
    assert printed.exit_code == 0 and printed.output.strip() == fingerprint(root)
    for args, name in (([], "root.pem"), (["--der"], "root.der")):
        exported = runner.invoke(args=["pki", "export-root", str(tmp_path / name), *args])
        assert exported.exit_code == 0, exported.output
    assert (tmp_path / "root.der").read_bytes() == root.dump()
    # What openssl says of the published file is what the command printed.
    openssl = shutil.which("openssl")
    said = subprocess.run(
        [openssl, "x509", "-in", str(tmp_path / "root.pem"), "-noout", "-fingerprint", "-sha256"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert said.strip().split("=", 1)[1] == fingerprint(root)


def test_inside_an_instance_verification_uses_its_root_and_never_makes_a_ca(tmp_path):
    """An installed platform whose CA exists (only its root certificate here) and whose
    database has no tables: the platform's root is used and said so, the missing records
    are a line, not a traceback; an instance without a CA makes none."""
    import weasyprint

    from agreements import pki, tsa
    from agreements.signing import sign_pdf
    from mediation import create_app

    authority = pki.ensure_authority(tmp_path / "platform", name="Online Mediation Platform")
    credential = pki.issue_signer(authority, common_name="张三", role="party", document_ref="A-1")
    pdf = sign_pdf(
        weasyprint.HTML(string="<p lang='zh'>人民调解协议书</p>").write_pdf(),
        signer_credential=credential,
        authority=authority,
        field_name="party-1",
        box=(50, 60, 230, 120),
        page=0,
        appearance_png=None,
        reason="同意",
        location="北京",
        timestamper=tsa.timestamper_for(authority),
    )
    document = tmp_path / "agreement.pdf"
    document.write_bytes(pdf)

    def instance_runner(name: str):
        instance = tmp_path / name
        app = create_app(
            {
                "ENV_NAME": "testing",
                "INSTANCE_PATH": str(instance),
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / name}.db",
            }
        )
        return app.test_cli_runner(), instance / "pki"

    runner, pki_dir = instance_runner("without-ca")
    result = runner.invoke(args=["agreement", "verify", str(document)])
    assert result.exit_code == 2 and "--root FILE" in result.output
    assert not pki_dir.exists()
    assert runner.invoke(args=["pki", "fingerprint"]).exit_code == 1
    assert not pki_dir.exists()

    runner, pki_dir = instance_runner("with-ca")
    pki_dir.mkdir(parents=True)
    (pki_dir / "root.crt.pem").write_bytes((tmp_path / "platform/root.crt.pem").read_bytes())
    result = runner.invoke(args=["agreement", "verify", str(document)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("VALID: 1 signature(s)")
    assert "this platform's root: " in result.output
    assert "case records not available here" in result.output
    assert sorted(p.name for p in pki_dir.iterdir()) == ["root.crt.pem"]  # no key made
