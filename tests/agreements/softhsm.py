"""A real PKCS#11 token for tests: SoftHSM2 (Debian's softhsm2) with its tokens in a
temporary directory. The module reads SOFTHSM2_CONF when it is initialised, so one
configuration and one token serve the whole test run (initialised again when it is made);
tests keep apart by key labels and PKI directories."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from agreements import keys

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
LABEL = "mediation-test"
PIN = "246810"
SO_PIN = "13579111"

_made: keys.TokenConfig | None = None


def available() -> str | None:
    """Why SoftHSM2 cannot run here, or None."""
    if not Path(MODULE).exists() or not shutil.which("softhsm2-util"):
        return "SoftHSM2 is not installed (Debian package softhsm2)"
    return None


def token(directory: Path) -> keys.TokenConfig:
    """The test run's token (made in ``directory`` the first time)."""
    global _made
    if _made is None:
        tokens = directory / "tokens"
        tokens.mkdir(parents=True)
        conf = directory / "softhsm2.conf"
        conf.write_text(
            f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
        )
        os.environ["SOFTHSM2_CONF"] = str(conf)
        subprocess.run(
            [
                *("softhsm2-util", "--init-token", "--free", "--label", LABEL),
                *("--pin", PIN, "--so-pin", SO_PIN),
            ],
            check=True,
            capture_output=True,
        )
        # A test before, in this process, may have loaded the module with another
        # configuration (tests/deploy/test_faults.py signs with a deployment's token, and
        # leaves the module initialised without one): read this one now.
        import pkcs11

        pkcs11.lib(MODULE).reinitialize()
        _made = keys.TokenConfig(module=MODULE, pin=PIN, token_label=LABEL)
    return _made
