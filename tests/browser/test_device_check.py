"""The device and network check in a real browser: fake camera and microphone, a loopback
call between two peer connections, the delay and bandwidth to the platform; and the help
shown when the camera is refused."""

from __future__ import annotations

from mediation.booking import links
from mediation.booking import operations as booking
from mediation.extensions import db
from tests.booking.conftest import ahead
from tests.factories import add_weekly_hours, make_mediating_case


def check_page(app) -> str:
    with app.app_context():
        case = make_mediating_case()
        add_weekly_hours(case.mediator)
        session = booking.book(case, by=case.mediator, start=ahead(1, "09:00"))
        party = next(p for p in session.participants if p.role == "party")
        token = links.token_for(party)
        db.session.commit()
        db.session.remove()
    return f"/s/{token}/check"


def results(page) -> str:
    page.click("#start-check")
    # Seven lines: camera, microphone, call, delay, download, upload, verdict.
    page.wait_for_function("document.querySelectorAll('#results li').length >= 7", timeout=30000)
    return page.inner_text("#results")


def test_camera_microphone_call_and_network_are_checked(app, live_server, browser_factory):
    browser = browser_factory("--use-fake-ui-for-media-stream")
    page = browser.new_page()
    page.goto(live_server + check_page(app))
    text = results(page)
    assert "✓ 摄像头正常" in text and "✓ 麦克风正常" in text
    assert "✓ 本设备的测试通话正常" in text
    assert "到平台的延迟" in text and "下载速度" in text and "上传速度" in text
    assert "✓ 您的网络可以进行视频通话" in text  # loopback is fast
    # The preview shows the camera.
    assert page.evaluate("document.getElementById('preview').videoWidth") > 0


def test_a_refused_camera_gets_instructions(app, live_server, browser_factory):
    browser = browser_factory()  # no fake UI: the permission prompt is refused
    context = browser.new_context()
    page = context.new_page()
    page.goto(live_server + check_page(app))
    page.click("#start-check")
    page.wait_for_selector("#permission-help:not([hidden])", timeout=30000)
    assert "权限被拒绝" in page.inner_text("#results")
    assert "微信内置浏览器" in page.inner_text("#permission-help")
