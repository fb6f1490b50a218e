"""`./kb diff A B`: what changed between two builds (manifests, or image ids found under output/):
packages added, removed, upgraded, downgraded (rpm/dpkg version order), license changes,
element and input changes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kickbake.errors import KickbakeError
from kickbake.paths import OUTPUT_DIR
from kickbake.record.licenses import concluded
from kickbake.record.manifest import load_manifest, records_of
from kickbake.record.packages import PackageRecord
from kickbake.record.versions import compare_records


@dataclass(frozen=True)
class Change:
    kind: str  # added, removed, upgraded, downgraded, rebuilt, license, element, input
    name: str
    before: str = ""
    after: str = ""


@dataclass
class ManifestDiff:
    a: str
    b: str
    changes: list[Change] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    def as_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "changes": [asdict(c) for c in self.changes]}


def find_manifest(reference: str, search: Path = OUTPUT_DIR) -> Path:
    """A manifest path, or the manifest under `search` whose image id starts with `reference`."""
    path = Path(reference)
    if path.is_file():
        return path
    if len(reference) >= 8 and all(c in "0123456789abcdef" for c in reference):
        for candidate in sorted(search.rglob("*.manifest.json")):
            try:
                image_id = load_manifest(candidate)["image_id"]
            except KickbakeError:  # not a kickbake manifest (another tool's, a broken copy): not it
                continue
            if image_id.startswith(reference):
                return candidate
    raise KickbakeError(f"{reference}: no such manifest file or image id under {search}",
                        hint="give a path to <image>.manifest.json or an image id (8+ hex digits)")


def _package_changes(old: list[PackageRecord], new: list[PackageRecord]) -> list[Change]:
    before, after = {r.key: r for r in old}, {r.key: r for r in new}
    changes = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        label = f"{key[0]}.{key[1]}"
        if a is None and b is not None:
            changes.append(Change("added", label, "", b.evr))
        elif b is None and a is not None:
            changes.append(Change("removed", label, a.evr, ""))
        elif a is not None and b is not None:
            order = compare_records(a, b)
            if order:
                changes.append(Change("upgraded" if order < 0 else "downgraded", label, a.evr, b.evr))
            elif a.digest != b.digest:
                changes.append(Change("rebuilt", label, a.digest, b.digest))
            if concluded(a) != concluded(b):
                changes.append(Change("license", label, concluded(a), concluded(b)))
    return changes


def _mapping_changes(kind: str, old: dict[str, str], new: dict[str, str]) -> list[Change]:
    return [Change(kind, name, old.get(name, ""), new.get(name, ""))
            for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]


def diff_manifests(a: str, b: str, search: Path = OUTPUT_DIR) -> ManifestDiff:
    path_a, path_b = find_manifest(a, search), find_manifest(b, search)
    old, new = load_manifest(path_a), load_manifest(path_b)
    result = ManifestDiff(str(path_a), str(path_b))
    result.changes += _package_changes(records_of(old), records_of(new))
    result.changes += _mapping_changes("element", old["chain"]["elements"], new["chain"]["elements"])
    result.changes += _mapping_changes("input", old["inputs"], new["inputs"])
    for link in ("lock_sha256", "inventory_slice_sha256", "image_sha256"):
        if old["chain"][link] != new["chain"][link]:
            result.changes.append(Change("input", link, old["chain"][link] or "", new["chain"][link] or ""))
    return result
