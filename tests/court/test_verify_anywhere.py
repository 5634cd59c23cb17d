"""Verification anywhere: on a court's machine (no instance, no database, no network, a
read-only HOME and working folder) `mediation agreement verify` and `mediation court verify`
trust only the root they are given; without one they say how to give it, in one line, and
exit 2; nothing is written, and no key is made."""

from __future__ import annotations

import hashlib

import pytest

from agreements import pki
from mediation.cli.trust import NO_ANCHOR

from .offline import default_instance_path, fresh_machine, make_court_files, mediation_command


@pytest.fixture(scope="module")
def files(app):
    yield from make_court_files(app)


def test_a_court_verifies_with_the_root_alone_and_nothing_is_written(files, tmp_path):
    instance = default_instance_path()
    before = sorted(instance.rglob("*")) if instance.exists() else None
    foreign = pki.ensure_authority(tmp_path / "foreign", name="Online Mediation Platform")
    foreign_root = files.folder / "foreign.pem"
    foreign_root.write_bytes((tmp_path / "foreign" / "root.crt.pem").read_bytes())
    foreign_root.chmod(0o644)
    assert foreign.root.dump() != files.root_der.read_bytes()
    fingerprint = hashlib.sha256(files.root_der.read_bytes()).hexdigest()
    mediation = mediation_command()

    with fresh_machine() as machine:

        def verify(*args: str):
            done = machine.run(mediation, *args)
            return done.returncode, done.stdout.decode(), done.stderr.decode()

        for root in (files.root_pem, files.root_der):
            code, out, err = verify(
                "agreement", "verify", str(files.agreement), "--root", str(root)
            )
            assert code == 0, out + err
            assert out.startswith("VALID: 4 signature(s)"), out
            code, out, err = verify("court", "verify", str(files.package), "--root", str(root))
            assert code == 0, out + err
            assert out.startswith("VALID:") and "trusted=yes" in out, out
        # The published fingerprint finds the root the files carry, any way it is written.
        written = ":".join(fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
        for given in (fingerprint, written):
            for command, path in (("agreement", files.agreement), ("court", files.package)):
                code, out, err = verify(command, "verify", str(path), "--root-sha256", given)
                assert code == 0, out + err
                assert "given root: " in out and written in out

        # No trust anchor: one line that says how to give one, exit 2, nothing else.
        for command, path in (("agreement", files.agreement), ("court", files.package)):
            code, out, err = verify(command, "verify", str(path))
            assert (code, out, err.splitlines()) == (2, "", [NO_ANCHOR]), out + err
            assert "--root FILE" in NO_ANCHOR and "--root-sha256" in NO_ANCHOR
            code, out, err = verify(command, "verify", str(path), "--root-sha256", "ab" * 32)
            assert code == 2 and out == "" and len(err.splitlines()) == 1, err
            assert "--root FILE" in err
        code, out, err = verify("agreement", "verify", str(files.agreement), "--root-sha256", "xyz")
        assert code == 2 and len(err.splitlines()) == 1 and "64 hex digits" in err, err
        code, out, err = verify(
            "court", "verify", str(files.package), "--root", str(files.agreement)
        )
        assert code == 2 and len(err.splitlines()) == 1 and "not a certificate" in err, err

        # Another root of the same name trusts nothing here.
        for command, path in (("agreement", files.agreement), ("court", files.package)):
            code, out, err = verify(command, "verify", str(path), "--root", str(foreign_root))
            assert code == 1 and out.startswith("NOT VALID"), out + err

        assert machine.written() == []
    # No instance folder, no CA, no key: neither made nor changed.
    after = sorted(instance.rglob("*")) if instance.exists() else None
    assert after == before
