"""The account page: what the user is registered with, and the zone they read times in."""

import re

from mediation.accounts.models import User
from mediation.extensions import db
from tests.conftest import login, post_form
from tests.factories import PASSWORD, make_user


def test_a_user_abroad_sees_session_times_in_their_zone(app, client):
    with app.app_context():
        user = make_user()
        phone, user_id = user.phone, user.id
        db.session.commit()
    login(client, phone, PASSWORD)
    page = client.get("/account").get_data(as_text=True)
    assert re.search(r'<option selected value="Asia/Shanghai">', page)
    response = post_form(
        client, "/account/time-zone", {"time_zone": "Europe/London"}, form_page="/account"
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, user_id).time_zone == "Europe/London"
    refused = post_form(
        client, "/account/time-zone", {"time_zone": "Mars/Olympus"}, form_page="/account"
    )
    assert "未知的时区" in client.get(refused.headers["Location"]).get_data(as_text=True)
