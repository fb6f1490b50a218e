"""The digest of a file's bytes, for every file kickbake hashes on the build host (inputs, locks,
images, mirrored packages). The first-boot agent, which runs on the node without kickbake,
hashes its bundle itself (firstboot/agent.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of the file at `path`, read in blocks (image files are gigabytes)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def sha256_file(path: Path) -> str:
    return file_digest(path, "sha256")
