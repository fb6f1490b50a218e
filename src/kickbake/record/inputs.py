"""Content hashes of everything that shapes a site's outputs: the inventory, the templates, the
data of the releases it runs and the files defining the repos it uses (not other sites' or
releases' files: editing those must not change this site's digest). Their combined digest ties
a node back to its inputs. A build's lock is hashed separately, into the image's manifest chain."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from kickbake.hashing import sha256_file
from kickbake.model.load import Inventory
from kickbake.model.yamlsource import load_yaml
from kickbake.paths import KICKSTARTS_DIR, PACKAGE_DIR, PROJECT_ROOT, RELEASES_DIR, REPOS_DIR


def _name(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return path.name


@cache
def _tree_hashes(*directories: Path) -> tuple[tuple[str, str], ...]:
    files = sorted(p for d in directories for p in d.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return tuple((_name(p), sha256_file(p)) for p in files)


@cache
def _repo_files(directory: Path = REPOS_DIR) -> dict[str, Path]:
    """repo name -> the repos/*.yml file defining it."""
    found = {}
    for path in sorted(directory.glob("*.yml")):
        for repo in load_yaml(path).data.get("repos") or ():
            found[str(repo.get("name"))] = path
    return found


def input_hashes(inventory: Inventory) -> dict[str, str]:
    """sha256 of every input file of this site, keyed by its path in the project."""
    hashes = dict(_tree_hashes(KICKSTARTS_DIR, PACKAGE_DIR / "render" / "templates"))
    site = inventory.site
    releases = {site.release, *(site.release_of(node) for node in site.nodes)}
    files = {RELEASES_DIR / f"{release}.yml" for release in releases}
    files |= {_repo_files()[name] for name in site.repos if name in _repo_files()}
    files.add(inventory.source.path.resolve())
    hashes |= {_name(path): sha256_file(path) for path in files if path.is_file()}
    return dict(sorted(hashes.items()))


def inputs_digest(hashes: dict[str, str]) -> str:
    text = "".join(f"{digest}  {name}\n" for name, digest in sorted(hashes.items()))
    return hashlib.sha256(text.encode()).hexdigest()
