"""Secrets of a site: generated once with os.urandom, kept in output/<site>/secrets/ (mode 0600,
git-ignored, carried over to every new output generation) and never printed or logged.

Which secrets a site has is recorded in state/secrets.json: a secret made for an earlier
generation that has gone missing is an error naming the file, never silently made anew (its nodes
still hold the old one); `render --regenerate-secrets` makes new ones on purpose. Install tokens
and bundles (install/) are per install and left out of that record."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from kickbake.errors import BadInput
from kickbake.output import Stage

SECRETS_DIR = "secrets"
SECRET_MODE = 0o600
AUTHKEY_BYTES = 256  # what corosync-keygen writes by default (2048 bits)
PASSWORD_BYTES = 24  # 48 hex digits: safe in URLs and ini files without quoting
TOKEN_BYTES = 32  # install tokens: 64 hex digits, unguessable


INDEX = "state/secrets.json"
INSTALL = "install/"  # per-install tokens and bundles: not part of the site's kept secrets
WHAT_CHANGES = {
    ".authkey": "every member of the cluster needs the new corosync authkey (reinstall or copy it)",
    ".password": "the services on the nodes keep the old password until they are reconfigured",
    ".asc": "the mirror is signed by a new key: nodes that trust the old one refuse it",
}


class SecretStore:
    """Secrets of one output generation: read if carried over, else generated and written; a
    secret the site had before is never generated again unless `regenerate`."""

    def __init__(self, stage: Stage, regenerate: bool = False) -> None:
        self.stage = stage
        self.regenerate = regenerate
        index = stage.path(INDEX)
        self.known: set[str] = set(json.loads(index.read_text())) if index.is_file() else set()

    def _get(self, name: str, make: Callable[[], bytes]) -> bytes:
        relative = f"{SECRETS_DIR}/{name}"
        path = self.stage.path(relative)
        if path.is_file():
            return path.read_bytes()
        if name in self.known and not self.regenerate:
            changes = next((v for k, v in WHAT_CHANGES.items() if name.endswith(k)), "the nodes hold the old one")
            raise BadInput(f"{relative} was made for this site before and is gone: not making a new one silently",
                           hint=f"restore it from a backup, or render with --regenerate-secrets ({changes})")
        path.parent.mkdir(parents=True, exist_ok=True)
        for directory in {path.parent, self.stage.path(SECRETS_DIR)}:
            directory.chmod(0o700)
        self.stage.write(relative, make(), SECRET_MODE)
        return path.read_bytes()

    def corosync_authkey(self, cluster: str) -> bytes:
        return self._get(f"{cluster}.authkey", lambda: os.urandom(AUTHKEY_BYTES))

    def password(self, name: str) -> str:
        return self._get(f"{name}.password", lambda: os.urandom(PASSWORD_BYTES).hex().encode()).decode().strip()

    def install_token(self, node: str) -> str:
        """The node's one-shot install credential (kept until its install report arrives)."""
        return self._get(f"install/{node}.token", lambda: os.urandom(TOKEN_BYTES).hex().encode()).decode().strip()

    def drop(self, name: str) -> None:
        """Remove a secret from this generation (the previous one keeps its own link)."""
        self.stage.path(f"{SECRETS_DIR}/{name}").unlink(missing_ok=True)

    def write_index(self) -> None:
        """Record which secrets this generation holds (state/secrets.json)."""
        root = self.stage.path(SECRETS_DIR)
        names = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        kept = [n for n in names if not n.startswith(INSTALL)]
        self.stage.write(INDEX, json.dumps(kept, indent=2) + "\n")
