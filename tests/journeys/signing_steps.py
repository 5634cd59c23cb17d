"""What the signing walks share: a case whose mediator is about to draft its agreement,
2x screens, drawing on the signature pad with a finger or the mouse, the texts a phone
receives, and reading the signed PDF's signature pictures with pyHanko."""

from __future__ import annotations

import io
import itertools
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields
from sqlalchemy import select

from agreements.signing import drawing_area
from mediation.accounts.models import Role
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.factories import (
    PASSWORD,
    make_institution,
    make_mediating_case,
    make_mediator,
    make_user,
)

WAIT_MS = 20_000
# Parties on a phone, staff on a laptop; both screens at twice the density (most phones
# are 2x or 3x), where a drawing redrawn at the wrong ratio came back twice as large.
PHONE = {"viewport": {"width": 375, "height": 740}, "has_touch": True, "is_mobile": True}
LAPTOP = {"viewport": {"width": 1366, "height": 768}}


@dataclass
class World:
    case_id: int
    applicant: dict
    respondent: dict
    mediator: dict
    admin: dict
    institution: str


def make_world(app, *, respondent_password: bool = True) -> World:
    """A case in mediation at an institution whose administrator seals; the parties gave
    their ID numbers and service addresses. (The world before the walk: no step of it.)"""
    with app.app_context():
        institution = make_institution()
        mediator = make_mediator(institution, real_name="王调解")
        case = make_mediating_case(mediator)
        applicant, respondent = case.party_users()
        applicant.real_name, respondent.real_name = "张三", "李四"
        if not respondent_password:
            respondent.password_hash = None  # invited by SMS: he enters with codes only
        for party in case.parties:
            party.service_address = party.service_address or "南京市鼓楼区中山路1号"
        admin = make_user(Role.institution_admin, institution_id=institution.id, real_name="赵主任")
        db.session.commit()
        person = lambda u: {"id": u.id, "phone": u.phone, "name": u.real_name}  # noqa: E731
        world = World(
            case.id,
            person(applicant),
            person(respondent),
            person(mediator),
            person(admin),
            institution.name,
        )
        db.session.remove()
    return world


def new_page(browser_factory, screen: dict, *, scale: float = 2):
    browser = browser_factory()
    return browser.new_context(device_scale_factor=scale, **screen).new_page()


def last_text_to(app, phone: str, containing: str = "") -> str:
    """What the person's phone received last (the console gateway keeps it in the outbox)."""
    with app.app_context():
        query = select(OutboxMessage.body).where(OutboxMessage.recipient == phone)
        if containing:
            query = query.where(OutboxMessage.body.contains(containing))
        body = db.session.scalars(query.order_by(OutboxMessage.id.desc())).first()
        db.session.remove()
    assert body is not None, f"no text to {phone} containing {containing!r}"
    return body


def code_in(text: str) -> str:
    return re.search(r"(?<!\d)\d{6}(?!\d)", text).group()


def link_in(text: str) -> str:
    """The path of the link in a text message (the walk's server listens elsewhere)."""
    return re.search(r"https?://[^/\s]+(/[\w.~/?=&%-]*[\w/])", text, re.ASCII).group(1)


def log_in(page, step, phone: str, name: str) -> None:
    page.fill("input[name=identifier]", phone)
    page.fill("input[name=password]", PASSWORD)
    step(page, "main form button[type=submit]", name)
    page.click("main form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url, timeout=WAIT_MS)


def open_case(page, case_id: int) -> None:
    """From "my cases": the case's line."""
    page.locator(f"main a[href$='/cases/{case_id}']").first.click()
    page.wait_for_url(re.compile(rf"/cases/{case_id}$"), timeout=WAIT_MS)


def draft_and_open_signing(page, step, snap, live_server: str, world: World, prefix: str) -> None:
    """The mediator, from the home page: log in, open the case, draft the agreement from
    the starting text, write the facts, and ask everyone to sign."""
    page.goto(live_server)
    page.get_by_role("link", name="登录").first.click()
    log_in(page, step, world.mediator["phone"], f"{prefix}-01-mediator-login")
    open_case(page, world.case_id)
    draft_from_case_page(page, step, snap, prefix)


def draft_from_case_page(page, step, snap, prefix: str) -> None:
    """The mediator, on the case page: draft the agreement from the starting text (the
    button in the top panel), write the facts and an obligation, and ask everyone to sign."""
    draft = page.get_by_role("button", name="起草调解协议").or_(
        page.get_by_role("link", name="起草调解协议")
    )
    step(page, draft.first, f"{prefix}-02-case")
    draft.first.click()
    start = page.get_by_role("button", name="起草调解协议")
    step(page, start, f"{prefix}-03-agreement-empty")
    start.click()
    facts = page.locator("textarea[name=facts]")
    facts.wait_for(timeout=WAIT_MS)
    step(page, facts, f"{prefix}-04-editor")
    # The starting text is neutral: the applicant's own story is not in it, a hint is.
    assert "【请填写" in facts.input_value()
    facts.fill("张三与李四系楼上楼下邻居。2026年10月起，李四家卫生间水管渗漏，致张三家天花板受损。")
    due = (utcnow() + timedelta(days=30)).date().isoformat()
    page.fill("input[name=obligations-1-due]", due)
    page.fill("input[name=obligations-1-action]", "向张三支付天花板维修费")
    page.fill("input[name=obligations-1-amount]", "3500")
    page.select_option("select[name=obligations-1-kind]", "pay")
    page.fill("input[name=obligations-1-method]", "银行转账")
    ask = page.get_by_role("button", name="保存并请各方签署")
    ask.click()
    page.wait_for_selector(".flash-success", timeout=WAIT_MS)
    snap(page, f"{prefix}-05-signing-opened")


def enter_from_text(page, app, step, live_server: str, phone: str, name: str) -> None:
    """A party opens the link in the text message and proves it is them with a code."""
    page.goto(live_server + link_in(last_text_to(app, phone, "/a/")))
    send = page.get_by_role("button", name="发送验证码")
    step(page, send, f"{name}-0-link")
    send.click()
    page.fill("input[name=code]", code_in(last_text_to(app, phone, "进入调解案件")))
    page.get_by_role("button", name="确认").click()
    page.wait_for_url(re.compile(r"/agreement/sign$"), timeout=WAIT_MS)


def sign_here(page, app, step, phone: str, name: str, *, touch: bool | None) -> dict | None:
    """On the signing page: read, draw (unless sealing), ask for the code, type it, sign.
    Returns the pad's ink box as drawn (None for the seal)."""
    # The pages' pictures are rendered on demand: the screenshot shows them, not a gap.
    page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=WAIT_MS)
    step(page, "#document-heading", f"{name}-1-read")
    drawn = None
    if touch is not None:
        draw(page, touch=touch)
        drawn = ink_on_pad(page)
        assert drawn["ratio"] == 2
    # The code box is on the page before it comes again too: wait for the page that comes
    # back, or the checks below may read the one going away (a loaded machine shows it).
    with page.expect_navigation(timeout=WAIT_MS):
        page.get_by_role("button", name="发送验证码").click()
    code = page.locator("input[name=code]")
    step(page, code, f"{name}-2-code")
    if drawn is not None:
        # The drawing is back on the pad after the page came again: the same strokes in
        # the same place, at this screen's ratio.
        page.wait_for_function(f"() => ({INK_BOX})() !== null", timeout=WAIT_MS)
        again = ink_on_pad(page)
        assert same_box(again["box"], drawn["box"], 0.02), (drawn, again)
    code.fill(code_in(last_text_to(app, phone, "的调解协议书")))
    page.get_by_role("button", name="用此验证码签署").click()
    page.wait_for_selector(".flash-success", timeout=WAIT_MS)
    return drawn


# -- drawing -----------------------------------------------------------------------------

# Two strokes that reach well into the right and bottom of the pad (a drawing redrawn
# twice as large loses exactly these parts), as fractions of its width and height.
STROKES = (
    [(0.10, 0.70), (0.25, 0.20), (0.40, 0.75), (0.55, 0.25), (0.70, 0.80), (0.88, 0.30)],
    [(0.15, 0.88), (0.50, 0.84), (0.85, 0.90)],
)

INK_BOX = """() => {
    const c = document.getElementById('signature-pad');
    if (c === null) return null;  // the page is still coming
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let x0 = c.width, y0 = c.height, x1 = -1, y1 = -1;
    for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
        if (d[(y * c.width + x) * 4 + 3] > 32) {
            if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
        }
    }
    if (x1 < 0) return null;
    return {box: [x0 / c.width, y0 / c.height, (x1 + 1) / c.width, (y1 + 1) / c.height],
            css: [c.offsetWidth, c.offsetHeight], pixels: [c.width, c.height],
            ratio: window.devicePixelRatio};
}"""


def draw(page, *, touch: bool) -> None:
    """Draw STROKES on the pad: with a finger (touch events, as a phone sends them) or
    with the mouse."""
    pad = page.locator("#signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()

    def at(fx: float, fy: float) -> tuple[float, float]:
        return box["x"] + fx * box["width"], box["y"] + fy * box["height"]

    if touch:
        cdp = page.context.new_cdp_session(page)
        for stroke in STROKES:
            x, y = at(*stroke[0])
            cdp.send(
                "Input.dispatchTouchEvent",
                {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]},
            )
            for (ax, ay), (bx, by) in itertools.pairwise(stroke):
                for i in range(1, 9):
                    x, y = at(ax + (bx - ax) * i / 8, ay + (by - ay) * i / 8)
                    cdp.send(
                        "Input.dispatchTouchEvent",
                        {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]},
                    )
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        cdp.detach()
    else:
        for stroke in STROKES:
            page.mouse.move(*at(*stroke[0]))
            page.mouse.down()
            for fx, fy in stroke[1:]:
                page.mouse.move(*at(fx, fy), steps=8)
            page.mouse.up()
    page.wait_for_function(f"() => ({INK_BOX})() !== null", timeout=WAIT_MS)


def ink_on_pad(page) -> dict:
    found = page.evaluate(INK_BOX)
    assert found is not None, "nothing on the pad"
    return found


def same_box(a, b, tolerance: float) -> bool:
    return all(abs(p - q) <= tolerance for p, q in zip(a, b, strict=True))


# -- the signed PDF ---------------------------------------------------------------------


def signature_pictures(pdf: bytes) -> dict[str, Image.Image]:
    """Each signed field's appearance picture (its alpha: where something is drawn), as
    pyHanko reads the file: field name -> greyscale image, ink white on black."""
    reader = PdfFileReader(io.BytesIO(pdf))
    found = {}
    for name, value, ref in fields.enumerate_sig_fields(reader):
        # Document timestamps (B-LTA) are invisible and have no picture.
        if value is None or value.get_object().get("/Type") == "/DocTimeStamp":
            continue
        field = ref.get_object()
        widget = field if "/AP" in field else field["/Kids"][0].get_object()
        images = list(_images(widget["/AP"]["/N"].get_object()))
        assert len(images) == 1, f"{name}: {len(images)} pictures"
        found[name] = images[0]
    return found


def _images(xobject, depth: int = 0):
    resources = xobject.get("/Resources")
    if resources is None or depth > 4:
        return
    for item in resources.get_object().get("/XObject", {}).values():
        stream = item.get_object()
        if stream["/Subtype"] == "/Image":
            mask = stream["/SMask"].get_object()
            size = (int(mask["/Width"]), int(mask["/Height"]))
            yield Image.frombytes("L", size, mask.data)
        else:
            yield from _images(stream, depth + 1)


def drawn_part(picture: Image.Image, pad: dict) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """The part of a signature picture where the pad's drawing was placed."""
    css_w, css_h = pad["css"]
    area = drawing_area(picture.size, (css_w * 100, css_h * 100))  # the pad's proportions
    return picture.crop(area), area


def ink_box(picture: Image.Image) -> tuple[float, float, float, float] | None:
    inked = picture.point(lambda v: 255 if v > 32 else 0).getbbox()
    if inked is None:
        return None
    w, h = picture.size
    return inked[0] / w, inked[1] / h, inked[2] / w, inked[3] / h


def pdfsig(pdf: bytes, folder: Path, root_pem: Path) -> str:
    """poppler's pdfsig on the file, trusting the platform's published root."""
    nssdb = folder / "nssdb"
    nssdb.mkdir(exist_ok=True)
    certutil = shutil.which("certutil")
    subprocess.run([certutil, "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True)
    subprocess.run(
        [
            certutil,
            "-A",
            "-d",
            f"sql:{nssdb}",
            "-n",
            "root",
            "-t",
            "C,C,C",
            "-a",
            "-i",
            str(root_pem),
        ],
        check=True,
    )
    path = folder / "signed.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        [shutil.which("pdfsig"), "-nssdir", f"sql:{nssdb}", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout
