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


def test_an_amount_of_zero_is_answered_by_the_range_not_as_missing(client):
    """0 is an amount typed in: the answer is the range, not "enter the amount you claim"
    (DataRequired took the number 0 for an empty field; InputRequired does not)."""
    page = ask(client, amount="0").get_data(as_text=True)
    assert "请填写0.01元到100亿元之间的金额" in page and 'aria-invalid="true"' in page
    assert "请填写您要求的金额" not in page and 'id="result"' not in page


def test_the_page_in_english(client):
    token = csrf_token(client, "/evaluation")
    client.post("/language", data={"csrf_token": token, "locale": "en"})
    page = ask(client).get_data(as_text=True)
    assert "Fees for a claim of 100,000.00 yuan" in page and "Civil Procedure Law" in page


def test_each_evaluation_counts_in_the_statistics_and_nothing_typed_is_kept(app, client):
    """Issue #20 item 4: the evaluation shows in the statistics like the consultation and the
    delegation; only a count per day, category and province is kept."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from mediation.accounts.models import Role
    from mediation.cases import statistics
    from mediation.evaluation import counts
    from mediation.evaluation.models import EvaluationCount
    from mediation.extensions import db
    from tests.conftest import login
    from tests.factories import PASSWORD, make_institution, make_user

    ask(client)  # in Jiangsu
    ask(client, region_code="", amount="5000")  # no province chosen
    ask(client, amount="abc")  # refused: nothing worked out, nothing counted
    with app.app_context():
        jiangsu = make_institution(region_code="320102").id
        zhejiang = make_institution(region_code="330102").id
        admin = make_user(Role.platform_admin).phone
        db.session.commit()
        assert statistics.figures().others["evaluations"] == 2
        assert statistics.figures(jiangsu).others["evaluations"] == 1
        assert statistics.figures(zhejiang).others["evaluations"] == 0
        assert {c.name for c in EvaluationCount.__table__.columns} == {
            "day",
            "category",
            "region_code",
            "evaluations",
        }
        # The same day (Beijing time), category and province: one row, counted on.
        late_evening = datetime(2025, 12, 5, 15, 59, tzinfo=UTC)  # 23:59 in Beijing
        for when in (late_evening, late_evening.replace(minute=30)):
            counts.count("labour", "320102", now=when)
        counts.count("labour", "320000", now=late_evening.replace(hour=16))  # the next day
        db.session.commit()
        rows = db.session.scalars(
            select(EvaluationCount).where(EvaluationCount.category == "labour")
        ).all()
        assert sorted((r.day.isoformat(), r.region_code, r.evaluations) for r in rows) == [
            ("2025-12-05", "320000", 2),
            ("2025-12-06", "320000", 1),
        ]
    login(client, admin, PASSWORD)
    page = client.get("/statistics").get_data(as_text=True)
    assert 'id="evaluations"' in page


def test_one_visitor_reloading_one_result_counts_one_evaluation(app, client):
    """The page is answered by GET: a reload, the back button or the bookmarked result opened
    again is not another evaluation, and adds nothing to the statistics (no write either)."""
    from mediation.cases import statistics

    statuses = {ask(client).status_code for _ in range(200)}
    with app.app_context():
        assert statuses == {200} and statistics.figures().others["evaluations"] == 1
    # Another answer (another amount, another province) is another evaluation; so is the
    # same question asked in another browser.
    ask(client, amount="5000")
    ask(client, region_code="330000")
    ask(client)
    ask(app.test_client())
    with app.app_context():
        assert statistics.figures().others["evaluations"] == 4


def test_a_client_without_cookies_is_answered_but_counted_within_a_budget(app, monkeypatch):
    """A script dropping its cookies is new to the session each time: its address has a
    daily budget of counted evaluations, past which the page still answers, uncounted."""
    from mediation.cases import statistics

    monkeypatch.setitem(app.config, "EVALUATION_COUNT_LIMIT", "3 per day")
    script = app.test_client(use_cookies=False)
    pages = [ask(script, amount=str(1000 + n)) for n in range(10)]
    assert all(p.status_code == 200 and 'id="result"' in p.get_data(as_text=True) for p in pages)
    with app.app_context():
        assert statistics.figures().others["evaluations"] == 3


def test_a_browser_trying_amount_after_amount_stops_counting(app, client):
    """At most SESSION_MOST answers a browser a day are counted: one trying amounts is not
    evaluating that many disputes, and the session cookie stays small."""
    from mediation.cases import statistics
    from mediation.evaluation import counts

    for n in range(counts.SESSION_MOST + 5):
        assert ask(client, amount=str(1000 + n)).status_code == 200
    with app.app_context():
        assert statistics.figures().others["evaluations"] == counts.SESSION_MOST


def test_the_evaluated_claim_becomes_a_draft_case_with_the_fees_in_its_journal(app, client):
    """Issue #20 item 4: the evaluation is a step of the case that follows it, in the journal
    like the consultation's; the kind, province and amount are carried, not typed again."""
    from sqlalchemy import select

    from mediation.cases.models import Case
    from mediation.extensions import db
    from mediation.journal.models import JournalEntry
    from tests.conftest import login
    from tests.factories import PASSWORD, make_user

    fields = {"category": "neighbourhood", "amount": "100000.00", "region_code": "320000"}
    # Not logged in: the page offers the ordinary way in, and the step itself asks to log in.
    assert "/evaluation/case" not in ask(client).get_data(as_text=True)
    anonymous = client.post("/evaluation/case", data=fields)
    assert anonymous.status_code == 400 or "/login" in anonymous.headers.get("Location", "")
    with app.app_context():
        phone = make_user().phone
        db.session.commit()
    login(client, phone, PASSWORD)
    token = csrf_token(client, "/evaluation")
    page = ask(client).get_data(as_text=True)
    assert 'action="/evaluation/case"' in page
    assert client.post("/evaluation/case", data=fields).status_code == 400  # no CSRF token
    bad = client.post("/evaluation/case", data={**fields, "amount": "-1", "csrf_token": token})
    assert bad.status_code == 302 and "/intake/" not in bad.headers["Location"]
    done = client.post("/evaluation/case", data={**fields, "csrf_token": token})
    assert done.status_code == 302 and "/intake/dispute" in done.headers["Location"]
    draft = client.get(done.headers["Location"]).get_data(as_text=True)
    assert 'value="100000.00"' in draft and "邻里纠纷" in draft  # carried, not typed again
    with app.app_context():
        case = db.session.scalar(select(Case))
        assert (case.status, case.category, case.region_code) == (
            "draft",
            "neighbourhood",
            "320000",
        )
        assert [str(c.amount) for c in case.claims] == ["100000.00"]
        entries = db.session.scalars(
            select(JournalEntry).where(JournalEntry.case_id == case.id).order_by("seq")
        ).all()
        assert [e.action for e in entries] == ["case.opened", "evaluation.made"]
        made = entries[1].payload
        # 办法 art 13 (1): 50 + 90,000 × 2.5%; art 16: half under the summary procedure.
        assert (made["ordinary"], made["summary"], made["mediation"]) == ("2300.00", "1150.00", "0")


def test_a_staff_account_is_not_offered_a_draft_it_could_not_open(app, client):
    """Filing is for a party's account (cases.intake_views): a mediator evaluating a claim is
    told so, not given a draft whose page then refuses them."""
    from sqlalchemy import func, select

    from mediation.cases.models import Case
    from mediation.extensions import db
    from tests.conftest import login
    from tests.factories import PASSWORD, make_institution, make_mediator

    with app.app_context():
        phone = make_mediator(make_institution()).phone
        db.session.commit()
    login(client, phone, PASSWORD)
    page = ask(client).get_data(as_text=True)
    assert 'action="/evaluation/case"' not in page and "当事人本人的账号" in page
    fields = {"category": "neighbourhood", "amount": "100000.00", "region_code": "320000"}
    token = csrf_token(client, "/evaluation")
    assert client.post("/evaluation/case", data={**fields, "csrf_token": token}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0
