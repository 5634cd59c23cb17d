"""After an error a form keeps what was typed, except a password, which is never sent back
to the browser: the message says so instead of "everything is kept" (issue #16)."""

from __future__ import annotations

from tests.conftest import post_form


def test_a_failed_login_asks_for_the_password_again(app):
    client = app.test_client()
    page = post_form(client, "/login", {"identifier": "13900001111", "password": ""})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "请重新输入密码" in text and "您已填写的内容都已保留" not in text
    assert 'value="13900001111"' in text  # the rest is kept


def test_a_form_without_a_password_still_says_everything_is_kept(app):
    client = app.test_client()
    page = post_form(client, "/password/forgot", {"identifier": ""})
    text = page.get_data(as_text=True)
    assert "您已填写的内容都已保留" in text and "请重新输入密码" not in text
