"""The evaluation page: public, answered from the query string, in plain Chinese."""

from urllib.parse import urlencode

from tests.conftest import csrf_token
from tests.core.test_no_english import english_words, visible_text


def ask(client, **fields):
    query = {"category": "neighbourhood", "amount": "100000", "region_code": "320000"} | fields
    return client.get(f"/evaluation?{urlencode(query)}")


def test_the_form_is_reached_from_the_home_page(client):
    home = client.get("/").get_data(as_text=True)
    assert 'href="/evaluation"' in home
    page = client.get("/evaluation").get_data(as_text=True)
    assert "打官司要花多少钱" in page or "诉讼费" in page
    assert 'id="result"' not in page  # nothing worked out before the question


def test_fees_and_limits_are_shown_in_chinese(client):
    page = ask(client).get_data(as_text=True)
    assert "2,300.00" in page and "1,150.00" in page  # 办法 arts 13 and 16
    assert "免费" in page  # mediation and judicial confirmation
    assert "第二十四条" in page and "第一百五十二条" in page
    assert "不构成法律意见" in page or "不是法律意见" in page
    assert "类似纠纷" in page and "太少" in page  # an empty platform: nothing to compare
    assert english_words(visible_text(page)) == {}


def test_a_labour_dispute_pays_ten_yuan(client):
    page = ask(client, category="labour", amount="300000").get_data(as_text=True)
    assert "10.00" in page and "5.00" in page and "每件10元" in page


def test_bad_input_is_explained_and_kept(client):
    for amount, message in (
        ("", "请填写"),
        ("abc", "请填写"),
        ("-5", "0.01"),
        ("1e400", "0.01"),
        ("99999999999999999999", "0.01"),
    ):
        response = ask(client, amount=amount)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, amount
        assert message in page and 'aria-invalid="true"' in page, amount
        assert 'id="result"' not in page
    page = ask(client, category="no-such-kind").get_data(as_text=True)
    assert 'aria-invalid="true"' in page and 'id="result"' not in page


def test_the_page_in_english(client):
    token = csrf_token(client, "/evaluation")
    client.post("/language", data={"csrf_token": token, "locale": "en"})
    page = ask(client).get_data(as_text=True)
    assert "Fees for a claim of 100,000.00 yuan" in page and "Civil Procedure Law" in page
