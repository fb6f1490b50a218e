"""Secrets of a site: generated once with os.urandom, kept in output/<site>/secrets/ (mode 0600,
git-ignored, carried over to every new output generation) and never printed or logged."""

from __future__ import annotations

import os
from collections.abc import Callable

from kickbake.output import Stage

SECRETS_DIR = "secrets"
SECRET_MODE = 0o600
AUTHKEY_BYTES = 256  # what corosync-keygen writes by default (2048 bits)
PASSWORD_BYTES = 24  # 48 hex digits: safe in URLs and ini files without quoting
TOKEN_BYTES = 32  # install tokens: 64 hex digits, unguessable


class SecretStore:
    """Secrets of one output generation: read if carried over, else generated and written."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage

    def _get(self, name: str, make: Callable[[], bytes]) -> bytes:
        relative = f"{SECRETS_DIR}/{name}"
        path = self.stage.path(relative)
        if path.is_file():
            return path.read_bytes()
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
