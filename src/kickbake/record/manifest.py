"""`<image>.manifest.json`: what is in an image and what made it, as one hash chain (the image id).

The chain covers the packages, the elements, the inventory slice, the templates and data files,
the lock, kickbake's version and commit and the image bytes; the build time is recorded beside it
(SOURCE_DATE_EPOCH when set) but kept out of the id so an identical rebuild has the same id."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from kickbake import __version__
from kickbake.bounded import read_text_bounded
from kickbake.errors import KickbakeError
from kickbake.hashing import sha256_file
from kickbake.paths import PROJECT_ROOT
from kickbake.record.inputs import inputs_digest
from kickbake.record.licenses import concluded
from kickbake.record.packages import PackageRecord, sorted_records
from kickbake.run import run

FORMAT = "kickbake-manifest/1"
PURL_NAMESPACE = {"fedora": "fedora", "el": "centos", "debian": "debian"}


@dataclass(frozen=True)
class RecordContext:
    """What the build knows about an image besides its package database."""

    site: str
    image: str
    release: str
    distro: str  # purl namespace: fedora, centos, debian
    inputs: dict[str, str] = field(default_factory=dict)  # project file -> sha256 (record.inputs)
    inventory_slice: dict[str, Any] = field(default_factory=dict)  # the inventory part that shapes it
    elements: dict[str, str] = field(default_factory=dict)  # element name -> content hash
    lock_sha256: str | None = None
    installed_by: str = "image"  # or "kickstart" for nodes recorded from their %post TSV
    build_id: str = ""  # the id baked into the image's /etc/kickbake/image.json (first boot records it)


def canonical_sha256(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def tree_sha256(directory: Path) -> str:
    """Content hash of a directory (an element): relative paths, modes and contents."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        mode = "x" if os.access(path, os.X_OK) else "-"
        digest.update(f"{path.relative_to(directory)}\0{mode}\0{sha256_file(path)}\n".encode())
    return digest.hexdigest()


@cache
def kickbake_commit() -> str:
    """The git commit kickbake runs from, '+dirty' when the checkout has changes."""
    try:
        head = run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"]).stdout.strip()
        dirty = run(["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--untracked-files=no"]).stdout.strip()
    except KickbakeError:
        return "unknown"
    return f"{head}+dirty" if dirty else head


def build_time(image_file: Path | None) -> datetime:
    """SOURCE_DATE_EPOCH when set (reproducible builds), else the image file's mtime."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), UTC)
    if image_file is not None and image_file.exists():
        return datetime.fromtimestamp(int(image_file.stat().st_mtime), UTC)
    return datetime.fromtimestamp(0, UTC)


def package_entry(record: PackageRecord, distro: str) -> dict[str, Any]:
    return {**record.as_dict(), "license_spdx": concluded(record), "purl": record.purl(distro)}


def _file_entry(path: Path) -> dict[str, Any]:
    return {"file": path.name, "sha256": sha256_file(path), "size": path.stat().st_size}


def build_manifest(records: list[PackageRecord], context: RecordContext, image_file: Path | None,
                   also: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The manifest as a JSON-ready dict; `image_id` is the sha256 of the chain below it."""
    packages = [package_entry(r, context.distro) for r in sorted_records(records)]
    image = _file_entry(image_file) if image_file is not None else None
    other_formats = [_file_entry(p) for p in also]
    chain = {
        "build_id": context.build_id or None,
        "packages_sha256": canonical_sha256(packages),
        "elements": dict(sorted(context.elements.items())),
        "inventory_slice_sha256": canonical_sha256(context.inventory_slice),
        "inputs_digest": inputs_digest(context.inputs),
        "lock_sha256": context.lock_sha256,
        "kickbake": {"version": __version__, "commit": kickbake_commit()},
        "image_sha256": image["sha256"] if image else None,
    }
    if other_formats:
        chain["other_formats_sha256"] = {f["file"]: f["sha256"] for f in other_formats}
    return {
        "format": FORMAT,
        "image_id": canonical_sha256(chain),
        "chain": chain,
        "site": context.site,
        "image": context.image,
        "release": context.release,
        "distro": context.distro,
        "installed_by": context.installed_by,
        "build_time": build_time(image_file).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "image_file": image,
        "other_formats": other_formats,
        "inventory_slice": context.inventory_slice,
        "inputs": dict(sorted(context.inputs.items())),
        "packages": packages,
    }


def manifest_json(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_manifest(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(read_text_bounded(path))
    except (OSError, ValueError) as exc:
        raise KickbakeError(f"{path}: not a readable manifest: {exc}") from exc
    if data.get("format") != FORMAT:
        raise KickbakeError(f"{path}: not a kickbake manifest (format {data.get('format')!r})")
    return data


def records_of(manifest: dict[str, Any]) -> list[PackageRecord]:
    return [PackageRecord.from_dict(p) for p in manifest["packages"]]
