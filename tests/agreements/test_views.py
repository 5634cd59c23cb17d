"""The agreement's pages: the mediator's editor and preview, the parties' comments, the
document's pages as pictures, and what a former mediator finds there (views.py). The signing
page: test_sign_flow.py; the public verification page: test_verify_views.py."""

from __future__ import annotations

import re

from mediation.agreements import operations as agreements
from mediation.extensions import db
from tests.conftest import login, post_form
from tests.factories import PASSWORD

from .conftest import (
    agreeing_case,
    complete_draft,
    messages_to,
    out_for_signing,
)
from .test_workflow import sign_in_turn


def form_fields(content: dict) -> dict:
    """The draft as the editor's form posts it."""
    fields = {
        "facts": content["facts"],
        "performance": content["performance"],
        "default_terms": content["default_terms"],
        "copies": str(content["copies"]),
    }
    for n, item in enumerate(content["obligations"], start=1):
        fields.update({f"obligations-{n}-{k}": str(v or "") for k, v in item.items()})
    for n, item in enumerate(content["issues"], start=1):
        fields.update({f"issues-{n}-{k}": v for k, v in item.items()})
    return fields


def test_the_mediator_drafts_with_a_preview_and_the_parties_comment(app, client):
    with app.app_context():
        case, _admin = agreeing_case()
        db.session.commit()
        case_id, mediator, applicant = case.id, case.mediator.phone, case.party_users()[0].phone
        fields = form_fields(complete_draft(case))
    page = f"/cases/{case_id}/agreement"
    login(client, mediator, PASSWORD)
    post_form(client, f"{page}/start", {}, form_page=page)
    shown = client.get(page).get_data(as_text=True)
    assert "obligations-1-amount" in shown and "flash-warning" in shown  # no date yet

    preview = post_form(
        client, f"{page}/preview", {**fields, "facts": "预览中的事实"}, form_page=page
    )
    assert preview.status_code == 200 and "预览中的事实" in preview.get_data(as_text=True)
    bad = post_form(
        client, f"{page}/save", {**fields, "obligations-1-amount": "五千"}, form_page=page
    )
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and fields["facts"] in body  # nothing typed is lost,
    assert 'value="五千"' in body  # not even the amount that was refused
    assert post_form(client, f"{page}/save", fields, form_page=page).status_code == 302
    with app.app_context():
        agreement = agreements.of_case(db.session.get(type(case), case_id))
        assert agreement.version == 2 and agreement.current.warnings == []

    party = app.test_client()
    login(party, applicant, PASSWORD)
    assert post_form(party, f"{page}/save", fields, form_page=page).status_code == 403
    assert post_form(party, f"{page}/preview", fields, form_page=page).status_code == 403
    said = post_form(party, f"{page}/comment", {"text": "还款期限请延长"}, form_page=page)
    assert said.status_code == 302
    assert "还款期限请延长" in party.get(page).get_data(as_text=True)


def test_a_terminated_cases_draft_takes_no_more_comments(app, client):
    """The mediator ended the mediation (art 33 of the People's Mediation Law) while the
    agreement was a draft: the page says the draft is closed and offers no comment box; a
    comment sent from a page left open is refused with that message, and nothing is kept."""
    from mediation.cases import workflow
    from mediation.cases.states import Action, TerminationReason

    with app.app_context():
        case, _admin = agreeing_case()
        agreements.start(case, by=case.mediator)
        workflow.transition(
            case,
            Action.terminate,
            by=case.mediator,
            reason=TerminationReason.too_far_apart,
            note="差距过大",
        )
        db.session.commit()
        case_id, applicant = case.id, case.party_users()[0].phone
    page = f"/cases/{case_id}/agreement"
    login(client, applicant, PASSWORD)
    shown = client.get(page).get_data(as_text=True)
    assert "本案调解已经结束，协议草稿不再修改或者签署" in shown and "/comment" not in shown
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', shown).group(1)
    said = client.post(f"{page}/comment", data={"text": "还款期限请延长", "csrf_token": token})
    assert said.status_code == 422
    assert "本案调解已经结束" in said.get_data(as_text=True)
    with app.app_context():
        agreement = agreements.of_case(db.session.get(type(case), case_id))
        assert agreements.comments(agreement) == []


def test_a_comment_sent_twice_is_kept_once(app, client):
    """A double tap on 发表意见 (or a phone resending it): one comment, one journal line,
    and the second answer says it was added already; the same words later, after another
    remark, are a comment of their own."""
    from sqlalchemy import func, select

    from mediation.journal.models import JournalEntry
    from tests.conftest import at_once, csrf_token

    with app.app_context():
        case, _admin = agreeing_case()
        agreements.start(case, by=case.mediator)
        db.session.commit()
        case_id, applicant, mediator = case.id, case.party_users()[0].phone, case.mediator.phone
    page = f"/cases/{case_id}/agreement"
    login(client, applicant, PASSWORD)
    form = {"text": "还款期限请延长", "csrf_token": csrf_token(client, page)}
    assert client.post(f"{page}/comment", data=form).status_code == 302
    again = client.post(f"{page}/comment", data=form)
    assert again.status_code == 302
    assert "您的意见已经添加过了" in client.get(page).get_data(as_text=True)
    second_tab = app.test_client()
    login(second_tab, applicant, PASSWORD)
    other = {"text": "利息请免除", "csrf_token": csrf_token(second_tab, page)}
    answers = at_once(
        lambda: client.post(f"{page}/comment", data={**form, "text": "利息请免除"}),
        lambda: second_tab.post(f"{page}/comment", data=other),
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    with app.app_context():
        agreement = agreements.of_case(db.session.get(type(case), case_id))
        assert [c.text for c in agreements.comments(agreement)] == ["还款期限请延长", "利息请免除"]
        written = select(func.count()).where(JournalEntry.action == "agreement.commented")
        assert db.session.scalar(written) == 2

    mediators = app.test_client()
    login(mediators, mediator, PASSWORD)
    fields = {**form_fields(complete_draft(case)), "sign": "1"}
    fields["csrf_token"] = csrf_token(mediators, page)
    assert mediators.post(f"{page}/save", data=fields).status_code == 302
    # Fixing the same words again (a double tap on 定稿并签署): not "signing can start only
    # from a draft", and the round is not opened twice.
    again = mediators.post(f"{page}/save", data=fields)
    assert again.status_code == 302
    assert "文本已经定稿过了" in mediators.get(page).get_data(as_text=True)
    with app.app_context():
        agreement = agreements.of_case(db.session.get(type(case), case_id))
        assert (agreement.status, agreement.round) == ("signing", 1)


def test_the_pages_are_pictures_for_phones_with_the_pdfs_access(app, client):
    with app.app_context():
        case, _admin = agreeing_case()
        out_for_signing(case)
        stranger = agreeing_case()[0].party_users()[0]
        db.session.commit()
        case_id, phone, stranger_phone = case.id, case.party_users()[0].phone, stranger.phone
    login(client, phone, PASSWORD)
    shown = client.get(f"/cases/{case_id}/agreement/sign").get_data(as_text=True)
    first = re.search(r'src="(/cases/\d+/agreement/pages/1\.png[^"]*)"', shown).group(1)
    picture = client.get(first.replace("&amp;", "&"))
    assert picture.status_code == 200 and picture.data.startswith(b"\x89PNG")
    assert client.get(f"/cases/{case_id}/agreement/pages/99.png").status_code == 404
    other = app.test_client()
    login(other, stranger_phone, PASSWORD)
    assert other.get(f"/cases/{case_id}/agreement/pages/1.png").status_code == 404


def test_a_former_mediator_is_told_and_the_new_one_asks_everyone_to_sign_again(app, client):
    """The institution gives the case to another mediator while the agreement waits for the
    mediator's signature (art 14): the former mediator's page and their signing link say the
    case is no longer theirs (not "page not found"); the new mediator fixes the text again
    on the page and signs in the new round; a mediator of another case finds nothing."""
    from mediation.accounts.models import Role, User
    from mediation.cases import assignment
    from mediation.cases.models import Case
    from tests.factories import make_mediating_case, make_mediator, make_user

    with app.app_context():
        case, admin = agreeing_case()
        agreement = out_for_signing(case)
        for user in case.party_users():
            sign_in_turn(agreement, user)
        former = case.mediator
        (asked,) = [m for m in messages_to(former.phone) if "/a/" in m]
        link = "/a/" + asked.rsplit("/a/", 1)[1].split()[0]
        new = make_mediator(case.institution)
        reassigner = make_user(Role.institution_admin, institution_id=case.institution_id)
        stranger = make_mediating_case().mediator
        db.session.commit()
        ids = {"case": case.id, "new": new.id, "admin": admin.id, "reassigner": reassigner.id}
        phones = {"former": former.phone, "new": new.phone, "stranger": stranger.phone}
        fields = form_fields(complete_draft(case))
    page = f"/cases/{ids['case']}/agreement"
    login(client, phones["former"], PASSWORD)
    assert client.get(page).status_code == 200  # theirs, until the institution acts

    with app.app_context():
        assignment.reassign_by_institution(
            db.session.get(Case, ids["case"]),
            mediator=db.session.get(User, ids["new"]),
            by=db.session.get(User, ids["reassigner"]),
        )
        db.session.commit()

    for path in (page, f"{page}/sign"):
        gone = client.get(path)
        assert gone.status_code == 302 and page not in gone.headers["Location"], path
    home = client.get(page, follow_redirects=True).get_data(as_text=True)
    assert "已交由其他调解员办理" in home
    # The signing link from their text message leads to the same message.
    shown = client.get(link, follow_redirects=True).get_data(as_text=True)
    assert "已交由其他调解员办理" in shown and "agreement/sign" not in shown

    stranger = app.test_client()
    login(stranger, phones["stranger"], PASSWORD)
    assert stranger.get(page).status_code == 404

    mediator = app.test_client()
    login(mediator, phones["new"], PASSWORD)
    draft = mediator.get(page).get_data(as_text=True)
    assert 'name="sign"' in draft  # "Save and ask everyone to sign"
    fixed = post_form(mediator, f"{page}/save", {**fields, "sign": "1"}, form_page=page)
    assert fixed.status_code == 302
    with app.app_context():
        agreement = agreements.of_case(db.session.get(Case, ids["case"]))
        assert agreement.round == 2 and agreement.status == "signing"
        for user in agreement.case.party_users():
            sign_in_turn(agreement, user)
        db.session.commit()
    turn = mediator.get(page).get_data(as_text=True)
    assert f"/cases/{ids['case']}/agreement/sign" in turn  # "Read and sign"
    assert mediator.get(f"{page}/sign").status_code == 200
    with app.app_context():
        agreement = agreements.of_case(db.session.get(Case, ids["case"]))
        sign_in_turn(agreement, db.session.get(User, ids["new"]))
        sign_in_turn(agreement, db.session.get(User, ids["admin"]))
        db.session.commit()
        assert agreement.status == "effective"
    assert client.get(link).status_code == 404  # a voided round's link leads nowhere


def test_a_page_picture_is_cached_like_the_pdf_private_and_asked_again(app, client):
    """The agreement's page pictures carry what its PDF does (names, ID numbers, addresses,
    amounts), under the same access rule: they were sent ``public, max-age=3600`` (a shared
    cache could keep them; the browser showed them for an hour without asking, after a
    logout too, on the tablet an office's signers pass round). Now private and asked again
    each time, and an unchanged page is answered 304 (found by an audit)."""
    with app.app_context():
        case, _admin = agreeing_case()
        out_for_signing(case)
        db.session.commit()
        case_id, phone = case.id, case.party_users()[0].phone
    login(client, phone, PASSWORD)
    shown = client.get(f"/cases/{case_id}/agreement/sign").get_data(as_text=True)
    first = re.search(r'src="(/cases/\d+/agreement/pages/1\.png[^"]*)"', shown).group(1)
    url = first.replace("&amp;", "&")
    picture = client.get(url)
    assert picture.status_code == 200 and picture.data.startswith(b"\x89PNG")
    control = picture.cache_control
    assert control.private and control.no_cache and not control.public, control
    again = client.get(url, headers={"If-None-Match": picture.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    other = app.test_client()
    assert other.get(url).status_code in (302, 401, 403, 404)
