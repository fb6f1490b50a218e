"""The package-layer cache: one tree per layer id with every package installed, shared by every
image and site with the same packages on this host (and by CI runs on it).

An entry is `<cache>/kickbake-layers/<layer id>/` holding the layer as the gzip tar the
debootstrap element's cache hook reads (`debootstrap-<distro>-<release>-<arch>.tar.gz`), the
inputs it was made from (`layer.json`) and a `last-used` stamp. The cache lives beside
diskimage-builder's own (`$DIB_IMAGE_CACHE/kickbake-layers`), or in KICKBAKE_LAYER_CACHE. Entries are evicted least
recently used first once the cache grows past its bound (KICKBAKE_LAYER_CACHE_GIB, 20 GiB)."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kickbake.build.spec import BuildSpec, default_cache_dir

DEFAULT_BOUND_GIB = 20.0
ARCH = "amd64"


def layers_root() -> Path:
    """KICKBAKE_LAYER_CACHE, else beside diskimage-builder's own cache."""
    configured = os.environ.get("KICKBAKE_LAYER_CACHE")
    return Path(configured) if configured else default_cache_dir() / "kickbake-layers"


def cache_bound() -> int:
    return int(float(os.environ.get("KICKBAKE_LAYER_CACHE_GIB", DEFAULT_BOUND_GIB)) * (1 << 30))


def tarball(spec: BuildSpec, layer: str, root: Path | None = None) -> Path:
    # DISTRO_NAME is "debian" for debian-minimal: the name the debootstrap element looks for
    name = f"debootstrap-debian-{spec.env['DIB_RELEASE']}-{ARCH}.tar.gz"
    return (root or layers_root()) / layer / name


def use_or_save(spec: BuildSpec, layer: str, inputs: dict[str, Any]) -> bool:
    """Point the build at the cached layer (True), or have it save one for next time (False)."""
    path = tarball(spec, layer)
    if path.is_file():
        spec.env["DIB_IMAGE_CACHE"] = str(path.parent)  # its own cache directory: only the layer in it
        spec.env["DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE"] = "1"
        spec.env["DIB_DEBOOTSTRAP_CACHE"] = "0"
        (path.parent / "last-used").touch()
        return True
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "layer.json").write_text(json.dumps(inputs, indent=2, sort_keys=True) + "\n")
    spec.env["KICKBAKE_LAYER_SAVE"] = str(path)
    return False


@dataclass(frozen=True)
class LayerEntry:
    layer: str
    path: Path
    size: int
    last_used: float
    complete: bool  # the tarball is there (a build that failed leaves only layer.json)
    inputs: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "path": str(self.path), "size": self.size, "complete": self.complete,
                "last_used": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.last_used)),
                "release": self.inputs.get("release"), "elements": self.inputs.get("elements")}


def _size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file() and not p.is_symlink())


def entries(root: Path | None = None) -> list[LayerEntry]:
    """Every cache entry, most recently used first."""
    root = root or layers_root()
    found = []
    for directory in sorted(root.iterdir()) if root.is_dir() else []:
        if not directory.is_dir():
            continue
        stamp = directory / "last-used"
        meta = directory / "layer.json"
        used = max((p.stat().st_mtime for p in (stamp, meta) if p.exists()), default=directory.stat().st_mtime)
        inputs = json.loads(meta.read_text()) if meta.is_file() else {}
        complete = any(directory.glob("debootstrap-*.tar.gz"))
        found.append(LayerEntry(directory.name, directory, _size(directory), used, complete, inputs))
    return sorted(found, key=lambda e: e.last_used, reverse=True)


def prune(bound: int | None = None, root: Path | None = None, keep: set[str] | None = None) -> list[LayerEntry]:
    """Evict least recently used entries until the cache fits `bound` bytes (incomplete entries
    first); `keep` is never evicted. Returns what was removed."""
    bound = cache_bound() if bound is None else bound
    keep = keep or set()
    current = entries(root)
    total = sum(e.size for e in current)
    removed = []
    for entry in sorted(current, key=lambda e: (e.complete, e.last_used)):  # broken, then oldest
        if total <= bound and entry.complete:
            break
        if entry.layer in keep:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        total -= entry.size
        removed.append(entry)
    return removed


def cache_report(do_prune: bool = False, max_gib: float | None = None) -> dict[str, Any]:
    """`./kb cache`: the entries (most recently used first), their total, and what a prune removed."""
    removed = prune(int(max_gib * (1 << 30)) if max_gib is not None else None) if do_prune else []
    current = entries()
    return {"root": str(layers_root()), "bound": cache_bound() if max_gib is None else int(max_gib * (1 << 30)),
            "total": sum(e.size for e in current), "layers": [e.as_dict() for e in current],
            "removed": [e.as_dict() for e in removed]}
