"""The site key: an ed25519 OpenPGP key in its own GnuPG home, made and used offline, in batch mode.

`gpg` signs (a detached, armored signature beside the manifest); `gpgv` verifies against the exported public
key only, never a keyring of this machine. Signatures are made at the key's own creation time
(`--faked-system-time`), and EdDSA signatures are deterministic, so the same key and manifest give the same
signature bytes: a rebuilt bundle is byte-identical to the first. gpg starts an agent for the home it is given;
each call ends that agent (`gpgconf --homedir HOME --kill gpg-agent`), that home's only.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aifactory.errors import Location, UserError

PUBLIC_KEY = "site-key.asc"
HOME = "gnupg"


def _run(cmd: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(cmd, input=stdin, capture_output=True, check=False, timeout=120)
    except FileNotFoundError:
        raise UserError.at(None, f"{cmd[0]} is not installed", "apt-get install -y gnupg gpgv") from None


@dataclass(frozen=True)
class SiteKey:
    """A key folder: `gnupg/` (the secret key, mode 0700) and `site-key.asc` (the public key to hand out)."""

    folder: Path

    @property
    def home(self) -> Path:
        return self.folder / HOME

    def _gpg(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        try:
            return _run(["gpg", "--homedir", str(self.home), "--batch", "--no-tty", "--pinentry-mode", "loopback",
                         "--passphrase", "", *args])  # fmt: skip
        finally:
            subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "gpg-agent"], check=False,
                           capture_output=True, timeout=60)  # fmt: skip

    def create(self, uid: str) -> str:
        """Make the key (refusing a folder that holds one already); returns its fingerprint."""
        if self.home.exists():
            raise UserError.at(Location(str(self.folder)), "this folder holds a site key already",
                               "keep it (hosts trust it), or choose a new folder")  # fmt: skip
        self.home.mkdir(parents=True, mode=0o700)
        done = self._gpg("--quick-generate-key", uid, "ed25519", "sign", "never")
        if done.returncode != 0:
            raise UserError.at(Location(str(self.folder)), f"gpg could not make the key: {_tail(done)}",
                               "check the user id (e.g. `Site <security@example.org>`)")  # fmt: skip
        (self.folder / PUBLIC_KEY).write_bytes(self._gpg("--armor", "--export").stdout)
        return self.fingerprint()

    def _primary(self) -> list[str]:
        done = self._gpg("--list-secret-keys", "--with-colons")
        rows = [line.split(":") for line in done.stdout.decode().splitlines()]
        sec = next((r for r in rows if r[0] == "sec"), None)
        fpr = next((r for r in rows if r[0] == "fpr"), None)
        if done.returncode != 0 or sec is None or fpr is None:
            raise UserError.at(Location(str(self.folder)), "no site key here",
                               "make one with `aifactory bundle key --out FOLDER`")  # fmt: skip
        return [sec[5], fpr[9]]

    def fingerprint(self) -> str:
        return self._primary()[1]

    def sign(self, data: bytes) -> bytes:
        created, fingerprint = self._primary()
        done = _run(["gpg", "--homedir", str(self.home), "--batch", "--no-tty", "--pinentry-mode", "loopback",
                     "--passphrase", "", "--faked-system-time", f"{created}!", "--local-user", fingerprint,
                     "--armor", "--detach-sign", "--output", "-", "-"], stdin=data)  # fmt: skip
        subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "gpg-agent"], check=False,
                       capture_output=True, timeout=60)  # fmt: skip
        if done.returncode != 0:
            raise UserError.at(Location(str(self.folder)), f"gpg could not sign: {_tail(done)}",
                               "check the key folder")  # fmt: skip
        return done.stdout


def _tail(done: subprocess.CompletedProcess[bytes]) -> str:
    lines = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"exit {done.returncode}"


def verify(data_file: Path, signature: Path, public_key: Path) -> tuple[bool, str]:
    """gpgv's verdict on a detached signature, against the one public key given (armored or binary)."""
    with tempfile.TemporaryDirectory(prefix="aifactory-gpgv-") as tmp:
        keyring = Path(tmp) / "site.gpg"
        raw = public_key.read_bytes()
        if raw.lstrip().startswith(b"-----BEGIN PGP"):
            done = _run(["gpg", "--homedir", tmp, "--batch", "--no-tty", "--dearmor", "--output", str(keyring)],
                        stdin=raw)  # fmt: skip
            subprocess.run(["gpgconf", "--homedir", tmp, "--kill", "gpg-agent"], check=False, capture_output=True)
            if done.returncode != 0:
                return False, "the public key is not an OpenPGP key"
        else:
            keyring.write_bytes(raw)
        done = _run(["gpgv", "--keyring", str(keyring), str(signature), str(data_file)])
        text = done.stderr.decode(errors="replace")
        good = next((line for line in text.splitlines() if "Good signature" in line), "")
        last = text.strip().splitlines()[-1:] or [f"gpgv exit {done.returncode}"]
        return done.returncode == 0 and bool(good), (good or last[0]).removeprefix("gpgv: ")
