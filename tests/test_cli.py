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
