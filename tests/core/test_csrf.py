"""Every form is protected against cross-site request forgery."""

import re

from sqlalchemy import func, select

from mediation.accounts.models import User
from mediation.extensions import db
from tests.factories import PASSWORD, make_user


def test_post_without_token_is_refused_with_a_clear_message(app, client):
    with app.app_context():
        phone = make_user().phone
        db.session.commit()
    response = client.post("/login", data={"identifier": phone, "password": PASSWORD})
    assert response.status_code == 400
    assert "表单已过期或并非从本网站提交" in response.get_data(as_text=True)
    assert client.get("/cases/").status_code == 302  # not logged in


def test_post_with_a_forged_token_is_refused(app, client):
    data = {
        "real_name": "王五",
        "id_number": "11010519491231002X",
        "phone": "13912345678",
        "password": "a long password",
        "csrf_token": "forged",
    }
    assert client.post("/register", data=data).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0


def test_every_state_changing_route_requires_the_token(app, client):
    # Every POST route of the app, called without a token, is refused before any work.
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        url = re.sub(r"<int:\w+>", "1", rule.rule)
        url = re.sub(r"<[^>]+>", "x", url)
        response = client.post(url, data={})
        # The court API has no cookies to forge with: its token is checked first.
        expected = 401 if rule.rule.startswith("/api/court/") else 400
        assert response.status_code == expected, (rule.rule, response.status_code)
