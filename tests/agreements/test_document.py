"""The signed agreement as a court and any validator see it: extractable Chinese text with
embedded fonts, four signatures trusted by poppler given the platform's root, and the verify
CLI refusing any changed byte or any later update after the seal."""

from __future__ import annotations

import io
import shutil
import subprocess

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from mediation.agreements import credentials

from .test_verify import tampered_versions
from .test_verify_views import signed_everywhere


def run(*command: str) -> str:
    tool = shutil.which(command[0])
    assert tool, f"{command[0]} is installed by `make` (Debian poppler-utils, libnss3-tools)"
    return subprocess.run([tool, *command[1:]], capture_output=True, text=True).stdout


def test_the_text_is_chinese_and_every_font_is_embedded(app, tmp_path):
    _case_id, code, pdf = signed_everywhere(app)
    path = tmp_path / "agreement.pdf"
    path.write_bytes(pdf)
    text = run("pdftotext", "-layout", str(path), "-")
    for words in ("人民调解协议书", "经调解，各方自愿达成如下协议", "向申请人支付维修费", code):
        assert words in text
    fonts = run("pdffonts", str(path)).splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts  # "emb" column
    assert any("CJK" in line for line in fonts)


def test_poppler_trusts_every_signature_given_the_platform_root(app, tmp_path):
    _case_id, _code, pdf = signed_everywhere(app)
    path = tmp_path / "agreement.pdf"
    path.write_bytes(pdf)
    nssdb = tmp_path / "nssdb"
    nssdb.mkdir()
    with app.app_context():
        root = credentials.authority().root.dump()
    (tmp_path / "root.der").write_bytes(root)
    run("certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password")
    run("certutil", "-A", "-d", f"sql:{nssdb}", "-n", "platform root", "-t", "C,C,C",
        "-i", str(tmp_path / "root.der"))  # fmt: skip
    out = run("pdfsig", "-nssdir", f"sql:{nssdb}", str(path))
    assert out.count("Signature is Valid.") == 4, out
    assert out.count("Certificate is Trusted.") == 4, out


def test_the_cli_reports_any_changed_byte_and_any_update_after_the_seal(app, runner, tmp_path):
    _case_id, _code, pdf = signed_everywhere(app)
    seal = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[-1]
    versions = tampered_versions(pdf, seal)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    stream = generic.StreamObject(stream_data=b"q 1 0 0 rg 100 400 200 50 re f Q")
    writer.add_stream_to_page(0, writer.add_object(stream))
    out = io.BytesIO()
    writer.write(out)
    versions["an incremental update after the seal"] = out.getvalue()
    for name, changed in versions.items():
        path = tmp_path / "changed.pdf"
        path.write_bytes(changed)
        result = runner.invoke(args=["agreement", "verify", str(path)])
        assert result.exit_code == 1, f"{name}: {result.output}"
        assert "NOT VALID" in result.output


def test_the_verification_qr_code_is_one_sharp_picture_on_every_page(app, tmp_path):
    _case_id, _code, pdf = signed_everywhere(app)
    path = tmp_path / "agreement.pdf"
    path.write_bytes(pdf)
    # page num type width height color comp bpc enc interp object ID ...
    rows = [line.split() for line in run("pdfimages", "-list", str(path)).splitlines()[2:]]
    squares = [row for row in rows if row[2] == "image" and row[3] == row[4]]
    pages = PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"]
    assert sorted(int(row[0]) for row in squares) == list(range(1, pages + 1)), rows
    assert len({(row[10], row[11]) for row in squares}) == 1  # one object, shown on each page
    # Not smoothed: a QR code must stay sharp, and PDF/A forbids /Interpolate true.
    assert all(row[9] == "no" for row in squares), rows
    assert b"/Interpolate true" not in pdf
