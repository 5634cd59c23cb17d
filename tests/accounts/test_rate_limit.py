"""Login attempts are throttled per account and per address."""

from mediation.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD, make_user


def test_failed_logins_are_throttled_per_account(app, client):
    with app.app_context():
        victim, other = make_user().phone, make_user().phone
        db.session.commit()
    for _ in range(5):
        assert login(client, victim, "guess").status_code == 200
    response = login(client, victim, PASSWORD)
    assert response.status_code == 429
    assert "尝试次数过多" in response.get_data(as_text=True)
    # Another account from the same address is not locked out by this.
    assert login(app.test_client(), other, PASSWORD).status_code == 302


def test_successful_logins_do_not_count(app):
    with app.app_context():
        phone = make_user().phone
        db.session.commit()
    for _ in range(8):
        client = app.test_client()
        assert login(client, phone, PASSWORD).status_code == 302


def test_other_spellings_of_the_same_phone_share_the_limit(app, client):
    with app.app_context():
        phone = make_user().phone  # +8613900000123
        db.session.commit()
    national = phone.removeprefix("+86")
    spellings = [national, f"+86 {national}", f"{national[:3]}-{national[3:7]}-{national[7:]}"]
    for attempt in range(5):
        assert login(client, spellings[attempt % 3], "guess").status_code == 200
    for spelling in spellings:
        assert login(client, spelling, "guess").status_code == 429
