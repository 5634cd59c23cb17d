"""The court package: built, verified offline, and every kind of tampering reported."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import warnings
import zipfile
from datetime import UTC, datetime

import pytest

from agreements import pki
from agreements.tsa import timestamper_for
from mediation.court import package, package_verify

FILES = {
    "agreement.pdf": b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n",
    "materials/a.bin": bytes(range(255, -1, -1)) * 3,
    "journal.json": json.dumps([{"seq": 1, "hash": "00" * 32}]).encode(),
}
CREATED = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def authority(tmp_path_factory) -> pki.Authority:
    return pki.ensure_authority(tmp_path_factory.mktemp("pki"), name="Test Platform")


@pytest.fixture(scope="module")
def other_authority(tmp_path_factory) -> pki.Authority:
    return pki.ensure_authority(tmp_path_factory.mktemp("other-pki"), name="Other Platform")


@pytest.fixture(scope="module")
def built(authority) -> bytes:
    return package.build(FILES, authority=authority, created=CREATED)


def entries(zip_bytes: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def repack(zip_bytes: bytes, changes: dict[str, bytes | None]) -> bytes:
    """The same ZIP with entries replaced or added (bytes) or dropped (None)."""
    files = entries(zip_bytes)
    for name, data in changes.items():
        if data is None:
            del files[name]
        else:
            files[name] = data
    return write_zip(list(files.items()))


def write_zip(items: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicates some tests add
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in items:
                zf.writestr(name, data)
    return out.getvalue()


def check(zip_bytes: bytes, authority: pki.Authority, **kw) -> package_verify.PackageReport:
    return package_verify.verify(zip_bytes, trust_roots=authority.trust_roots, **kw)


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_a_built_package_verifies(built, authority):
    report = check(built, authority)
    assert report.ok, package_verify.summarize(report)
    assert report.problems == ()
    assert report.manifest_trusted
    assert report.signer == "Test Platform package"
    assert report.signed_at is not None
    assert [f.name for f in report.files] == sorted(FILES)
    assert all(f.ok and f.actual == f.expected for f in report.files)
    assert package_verify.summarize(report).splitlines()[0].startswith("VALID")


def test_layout_and_manifest(built):
    with zipfile.ZipFile(io.BytesIO(built)) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == [
        "manifest.json",
        "manifest.json.p7s",
        "manifest.json.p7s.1.tsr",  # the archive timestamp over the signature
        *sorted(FILES),
    ]
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}
    manifest = json.loads(entries(built)["manifest.json"])
    assert manifest["format"] == "mediation-package/1"
    assert manifest["created"] == "2026-11-23T09:30:00Z"
    assert [f["name"] for f in manifest["files"]] == sorted(FILES)
    assert all(f["size"] == len(FILES[f["name"]]) for f in manifest["files"])


@pytest.mark.parametrize("name", [*FILES, "manifest.json"])
def test_a_changed_byte_in_any_file_is_reported(built, authority, name):
    original = entries(built)[name]
    for at in (0, len(original) // 2, len(original) - 1):
        report = check(repack(built, {name: flip(original, at)}), authority)
        assert not report.ok
        if name in FILES:
            (bad,) = [f for f in report.files if not f.ok]
            assert bad.name == name and bad.actual not in (None, bad.expected)
            assert f"changed file: {name}" in report.problems[0]
            assert report.manifest_trusted  # the manifest still holds, the file does not
        else:
            assert not report.manifest_trusted


def test_changed_bytes_in_the_signature_are_reported(built, authority):
    p7s = entries(built)["manifest.json.p7s"]
    # A sample across certificates, signed attributes, signature and timestamp token (every
    # byte was checked once, both its lowest and highest bit; that takes minutes).
    for at in range(0, len(p7s), len(p7s) // 24):
        report = check(repack(built, {"manifest.json.p7s": flip(p7s, at)}), authority)
        assert not report.ok and not report.manifest_trusted, at


def test_a_damaged_zip_entry_is_reported(built, authority):
    with zipfile.ZipFile(io.BytesIO(built)) as zf:
        info = zf.getinfo("journal.json")
    # Local header: 30 bytes, then name and extra field, then the compressed data.
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    report = check(flip(built, start + info.compress_size // 2), authority)
    assert not report.ok
    assert any("journal.json" in p for p in report.problems)


def test_a_missing_file_is_reported(built, authority):
    report = check(repack(built, {"materials/a.bin": None}), authority)
    assert not report.ok
    assert "missing file: materials/a.bin" in report.problems
    (missing,) = [f for f in report.files if f.name == "materials/a.bin"]
    assert missing.actual is None and not missing.ok


@pytest.mark.parametrize("name", ["manifest.json", "manifest.json.p7s"])
def test_a_missing_manifest_or_signature_is_reported(built, authority, name):
    report = check(repack(built, {name: None}), authority)
    assert not report.ok and not report.manifest_trusted
    assert f"missing file: {name}" in report.problems


def test_an_unlisted_file_is_reported(built, authority):
    report = check(repack(built, {"materials/extra.pdf": b"%PDF-1.7"}), authority)
    assert not report.ok
    assert report.problems == ("file not in the manifest: materials/extra.pdf",)


def test_duplicate_and_traversal_entries_are_reported(built, authority):
    items = list(entries(built).items())
    report = check(write_zip([*items, ("journal.json", b"[]")]), authority)
    assert not report.ok
    assert "duplicate ZIP entry: journal.json" in report.problems
    report = check(write_zip([*items, ("../evil.sh", b"#!/bin/sh")]), authority)
    assert not report.ok
    assert any("unsafe name" in p and "../evil.sh" in p for p in report.problems)


def test_an_edited_manifest_with_the_old_signature_is_reported(built, authority):
    manifest = json.loads(entries(built)["manifest.json"])
    forged = b"forged journal"
    manifest["files"][1]["sha256"] = hashlib.sha256(forged).hexdigest()
    manifest["files"][1]["size"] = len(forged)
    assert manifest["files"][1]["name"] == "journal.json"
    edited = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode()
    report = check(repack(built, {"manifest.json": edited, "journal.json": forged}), authority)
    assert not report.ok and not report.manifest_trusted
    assert "manifest signature does not match manifest.json" in report.problems
    assert all(f.ok for f in report.files)  # consistent with the forged manifest, yet refused


def test_a_package_signed_by_another_ca_is_reported(built, authority, other_authority):
    forged = package.build({**FILES, "journal.json": b"[]"}, authority=other_authority)
    report = check(forged, authority)
    assert not report.ok and not report.manifest_trusted
    assert report.signer == "Other Platform package"
    assert any("not trusted" in p for p in report.problems)
    # The same package is fine for whoever trusts the other CA.
    assert check(forged, other_authority).ok


def test_a_manifest_signed_with_a_party_certificate_is_reported(built, authority):
    manifest = entries(built)["manifest.json"]
    credential = pki.issue_signer(authority, common_name="张三", role="party", document_ref="D")
    with credential:
        p7s = package.sign_detached(manifest, credential, timestamper_for(authority))
    report = check(repack(built, {"manifest.json.p7s": p7s}), authority)
    assert not report.ok and not report.manifest_trusted
    assert "manifest is not signed by the platform (role 'party')" in report.problems


def test_a_manifest_signature_without_timestamp_is_reported(built, authority):
    manifest = entries(built)["manifest.json"]
    credential = pki.issue_signer(
        authority,
        common_name="Test Platform package",
        role="platform",
        document_ref=package.document_ref(manifest),
        signer_id="package",
    )
    with credential:
        p7s = package.sign_detached(manifest, credential, None)
    report = check(repack(built, {"manifest.json.p7s": p7s}), authority)
    assert not report.ok and not report.manifest_trusted
    assert report.problems == (
        # the archive timestamp was over the original signature file
        "archive timestamp 1 is not valid or not trusted",
        "manifest signature needs one timestamp and nothing else: []",
    )


def test_a_garbage_signature_is_reported(built, authority):
    report = check(repack(built, {"manifest.json.p7s": b"\x30\x03garbage"}), authority)
    assert not report.ok and not report.manifest_trusted
    assert any(p.startswith("manifest signature cannot be validated") for p in report.problems)


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04" + b"\0" * 40])
def test_non_zip_input_gives_a_report(authority, data):
    report = check(data, authority)
    assert not report.ok
    assert report.problems[0].startswith("not a ZIP archive")
    assert package_verify.summarize(report).splitlines()[0].startswith("NOT VALID")


@pytest.mark.parametrize(
    "name",
    [
        "../agreement.pdf",
        "materials/../../x",
        "/etc/passwd",
        "materials\\a.bin",
        "materials//a.bin",
        "./a",
        "",
        "manifest.json",
        "Manifest.JSON.p7s",
    ],
)
def test_build_refuses_unsafe_and_reserved_names(authority, name):
    with pytest.raises(ValueError):
        package.build({name: b"x"}, authority=authority)


def test_build_refuses_colliding_names_and_naive_times(authority):
    with pytest.raises(ValueError, match="collides"):
        package.build({"a.pdf": b"1", "A.pdf": b"2"}, authority=authority)
    with pytest.raises(ValueError, match="timezone"):
        package.build(FILES, authority=authority, created=datetime(2026, 1, 1))  # noqa: DTZ001


def test_the_extra_hook_adds_problems(built, authority):
    seen: dict[str, bytes] = {}

    def journal_chain(files: dict[str, bytes]) -> list[str]:
        seen.update(files)
        return ["journal entry 1: hash chain broken"]

    report = check(built, authority, extra=journal_chain)
    assert seen == FILES
    assert not report.ok and report.manifest_trusted
    assert report.problems == ("journal entry 1: hash chain broken",)
    assert check(built, authority, extra=lambda files: []).ok

    def crashing(files: dict[str, bytes]) -> list[str]:
        raise KeyError("journal.json")

    report = check(built, authority, extra=crashing)
    assert not report.ok and report.problems[0].startswith("package check failed: KeyError")


def test_summary_lists_problems_and_files(built, authority):
    report = check(repack(built, {"journal.json": b"[]"}), authority)
    lines = package_verify.summarize(report).splitlines()
    assert lines[0].startswith("NOT VALID")
    assert "  problem: changed file: journal.json" in "\n".join(lines)
    assert sum(line.startswith("  [FAILED] journal.json") for line in lines) == 1
    assert sum(line.startswith("  [ok] ") for line in lines) == 2


def test_works_while_an_event_loop_runs(authority):
    async def inside() -> package_verify.PackageReport:
        return check(package.build(FILES, authority=authority), authority)

    assert asyncio.run(inside()).ok


def test_the_signature_carries_crls_and_nothing_foreign_may_join_them(
    built, authority, other_authority
):
    from asn1crypto import cms

    p7s = entries(built)["manifest.json.p7s"]
    signed_data = cms.ContentInfo.load(p7s)["content"]
    assert len(signed_data["crls"]) >= 3  # the signer's, the TSA's, the issuing CA's, the root's
    foreign = pki.validation_crls(other_authority)[0]
    slipped = package.with_revocation_data(p7s, [*(c.chosen for c in signed_data["crls"]), foreign])
    report = check(repack(built, {"manifest.json.p7s": slipped}), authority)
    assert not report.ok
    assert "container carries a CRL no validated chain vouches for" in report.problems


def test_the_archive_timestamp_is_renewed_as_a_chain(built, authority):
    renewed = package.renew(package.renew(built, authority=authority), authority=authority)
    names = list(entries(renewed))
    assert [n for n in names if n.endswith(".tsr")] == [
        "manifest.json.p7s.1.tsr",
        "manifest.json.p7s.2.tsr",
        "manifest.json.p7s.3.tsr",
    ]
    assert check(renewed, authority).ok
    # A link taken out, or one that no longer covers what came before it, breaks the chain.
    gap = repack(renewed, {"manifest.json.p7s.2.tsr": None})
    assert "archive timestamps are not numbered 1 to 2" in check(gap, authority).problems
    swapped = repack(
        renewed,
        {
            "manifest.json.p7s.2.tsr": entries(renewed)["manifest.json.p7s.3.tsr"],
            "manifest.json.p7s.3.tsr": entries(renewed)["manifest.json.p7s.2.tsr"],
        },
    )
    assert not check(swapped, authority).ok


# -- what the package is for: mediation-package/2 (issue #17) ------------------------------

ABOUT = {
    "case": {"number": "（2026）调字第0042号"},
    "court": {"id": 7, "name": "南京市玄武区人民法院"},
    "application": {"id": 12, "court_case_number": None, "status": "submitted"},
}


def resign(authority: pki.Authority, zip_bytes: bytes, manifest: dict) -> bytes:
    """The package with ``manifest`` in place of its own, signed as the platform signs (the
    manifest's signature and its first archive timestamp)."""
    data = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode()
    stamper = timestamper_for(authority)
    p7s = package._sign_manifest(data, authority, stamper)
    return repack(
        zip_bytes,
        {
            "manifest.json": data,
            "manifest.json.p7s": p7s,
            package.archive_name(1): package._archive_token(p7s, stamper),
        },
    )


def test_a_package_names_its_case_court_and_application(authority):
    built = package.build(FILES, authority=authority, created=CREATED, about=ABOUT)
    manifest = json.loads(entries(built)["manifest.json"])
    assert manifest["format"] == "mediation-package/2"
    assert [k for k in manifest] == ["format", "created", "case", "court", "application", "files"]
    assert {k: manifest[k] for k in ABOUT} == ABOUT
    report = check(built, authority)
    assert report.ok, package_verify.summarize(report)
    assert report.about == ABOUT
    line = package_verify.summarize(report).splitlines()[1]
    assert line == (
        "  case （2026）调字第0042号; court 南京市玄武区人民法院 (id 7); application 12 "
        "(submitted, court case number none yet)"
    )


def test_a_package_of_format_1_still_verifies(built, authority):
    """Courts keep packages made before the names were added: they stay readable."""
    assert json.loads(entries(built)["manifest.json"])["format"] == "mediation-package/1"
    report = check(built, authority)
    assert report.ok and report.about is None


@pytest.mark.parametrize(
    "about",
    [
        {"case": ABOUT["case"], "court": ABOUT["court"]},
        {**ABOUT, "court": {"id": 7}},
        {**ABOUT, "court": {"id": "7", "name": "法院"}},
        {**ABOUT, "court": {"id": True, "name": "法院"}},
        {**ABOUT, "application": {**ABOUT["application"], "status": None}},
        {**ABOUT, "application": {**ABOUT["application"], "judge": "王"}},
        {**ABOUT, "case": "（2026）调字第0042号"},
        ["case", "court", "application"],
    ],
)
def test_names_of_another_shape_are_refused_and_reported(authority, built, about):
    with pytest.raises(ValueError):
        package.build(FILES, authority=authority, about=about)
    manifest = json.loads(entries(built)["manifest.json"])
    manifest["format"] = "mediation-package/2"
    if isinstance(about, dict):
        manifest.update(about)
    report = check(resign(authority, built, manifest), authority)
    assert report.manifest_trusted and not report.ok  # signed, yet not a /2 manifest
    assert report.problems[0].startswith("manifest is not readable")


def test_an_unknown_format_is_reported(authority, built):
    manifest = json.loads(entries(built)["manifest.json"])
    for fmt in ("mediation-package/3", None, 2):
        manifest["format"] = fmt
        report = check(resign(authority, built, manifest), authority)
        assert not report.ok and "format is not mediation-package/2" in report.problems[0]


# -- the newest archive token is outside every hash: its unsigned parts must be as made ------


def _with_newest_token(zip_bytes: bytes, change) -> bytes:
    """The package with ``change`` applied to its newest archive token's SignedData."""
    from asn1crypto import cms

    name = package.archive_name(max(package.archive_numbers(list(entries(zip_bytes)))))
    signed_data = cms.ContentInfo.load(entries(zip_bytes)[name])["content"]
    change(signed_data)
    info = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
    return repack(zip_bytes, {name: info.dump(force=True)})


def test_a_foreign_crl_in_the_newest_archive_token_is_reported(built, authority, other_authority):
    from asn1crypto import cms

    foreign = pki.validation_crls(other_authority)[0]

    def slip(signed_data):
        signed_data["crls"] = [cms.RevocationInfoChoice(name="crl", value=foreign)]

    report = check(_with_newest_token(built, slip), authority)
    assert not report.ok
    assert (
        "archive timestamp 1: container carries a CRL no validated chain vouches for"
        in report.problems
    )


def test_an_unsigned_attribute_in_the_newest_archive_token_is_reported(built, authority):
    from asn1crypto import cms

    def add(signed_data):
        signed_data["signer_infos"][0]["unsigned_attrs"] = [
            cms.CMSAttribute(
                {"type": "signing_time", "values": [cms.Time(name="utc_time", value=CREATED)]}
            )
        ]

    report = check(_with_newest_token(built, add), authority)
    assert not report.ok
    assert any("unsigned attributes it may not" in p for p in report.problems)


def test_a_format_2_package_without_archive_timestamps_is_reported(authority):
    built = package.build(FILES, authority=authority, created=CREATED, about=ABOUT)
    stripped = repack(built, {n: None for n in entries(built) if n.endswith(".tsr")})
    report = check(stripped, authority)
    assert not report.ok
    assert "archive timestamp missing from a mediation-package/2 package" in report.problems
