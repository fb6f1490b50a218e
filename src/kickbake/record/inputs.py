"""Content hashes of everything that shapes a site's outputs: the inventory, the templates, the
release data and the repo definitions. Their combined digest ties a node back to its inputs."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from kickbake.model.load import Inventory
from kickbake.paths import KICKSTARTS_DIR, PACKAGE_DIR, PROJECT_ROOT, RELEASES_DIR, REPOS_DIR


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _name(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return path.name


@cache
def _tree_hashes(*directories: Path) -> tuple[tuple[str, str], ...]:
    # lock files are per site: a site's own lock is added in input_hashes, never another site's
    files = sorted(p for d in directories for p in d.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".lock")
    return tuple((_name(p), sha256_file(p)) for p in files)


def input_hashes(inventory: Inventory) -> dict[str, str]:
    """sha256 of every input file, keyed by its path in the project."""
    hashes = dict(_tree_hashes(KICKSTARTS_DIR, PACKAGE_DIR / "render" / "templates", RELEASES_DIR, REPOS_DIR))
    hashes[_name(inventory.source.path.resolve())] = sha256_file(inventory.source.path)
    lock = REPOS_DIR / f"{inventory.site.site}.lock"
    if lock.is_file():
        hashes[_name(lock)] = sha256_file(lock)
    return dict(sorted(hashes.items()))


def inputs_digest(hashes: dict[str, str]) -> str:
    text = "".join(f"{digest}  {name}\n" for name, digest in sorted(hashes.items()))
    return hashlib.sha256(text.encode()).hexdigest()
