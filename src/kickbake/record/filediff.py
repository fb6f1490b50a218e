"""`./kb filediff A.tar B.tar`: compare two built tar images file by file and say which paths
differ, each one either on the documented list of paths a rebuild of the same inputs may change
(record/reproducible.yml, with why) or not: an undocumented difference is a reproducibility bug.

Compared per path: the kind (file, directory, symlink, device, fifo), content sha256, mode
(permission and set-id bits), owner and group (numeric), link target, device numbers. Not
compared: mtimes (diskimage-builder touches /etc, /tmp and /var/log after every element ran;
kickbake-reproducible clamps the rest to SOURCE_DATE_EPOCH) and hard-link grouping (which name
tar stores first follows the directory order of the build's filesystem): a hard link is compared
as the file it points to."""

from __future__ import annotations

import fnmatch
import hashlib
import tarfile
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from kickbake.bounded import read_text_bounded
from kickbake.errors import KickbakeError

REPRODUCIBLE_YML = Path(__file__).with_name("reproducible.yml")
ASPECTS = ("kind", "sha256", "mode", "owner", "target", "device")  # what is compared, in this order
_KINDS = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.CONTTYPE: "file", tarfile.DIRTYPE: "directory",
          tarfile.SYMTYPE: "symlink", tarfile.CHRTYPE: "char-device", tarfile.BLKTYPE: "block-device",
          tarfile.FIFOTYPE: "fifo"}


@dataclass(frozen=True)
class Entry:
    """One path of an image, as compared."""

    kind: str
    sha256: str = ""  # files only
    mode: str = ""  # octal, with set-id and sticky bits
    owner: str = ""  # uid:gid
    target: str = ""  # symlinks only
    device: str = ""  # devices only: major:minor


@dataclass(frozen=True)
class Expected:
    """A documented difference: a glob over image paths (no leading ./ or /) and why it differs."""

    path: str
    why: str

    def matches(self, path: str) -> bool:
        return fnmatch.fnmatchcase(path, self.path)


@dataclass(frozen=True)
class Difference:
    path: str
    aspects: tuple[str, ...]  # "added", "removed", or the ASPECTS that differ
    why: str = ""  # the documented reason; empty: undocumented


@dataclass
class FileDiff:
    a: str
    b: str
    files: int = 0  # paths compared (the union of both images)
    differences: list[Difference] = field(default_factory=list)

    @property
    def undocumented(self) -> list[Difference]:
        return [d for d in self.differences if not d.why]

    def as_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "files": self.files,
                "differences": [{**asdict(d), "aspects": list(d.aspects)} for d in self.differences],
                "undocumented": [d.path for d in self.undocumented]}


@cache
def expected_differences(path: Path = REPRODUCIBLE_YML) -> tuple[Expected, ...]:
    """The documented list: every entry has a path glob and a why, nothing else."""
    data = yaml.safe_load(read_text_bounded(path)) or {}
    entries = data.get("differs") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise KickbakeError(f"{path}: expected a 'differs:' list")
    found = []
    for index, item in enumerate(entries):
        if not isinstance(item, dict) or set(item) != {"path", "why"} or not all(
                isinstance(v, str) and v.strip() for v in item.values()):
            raise KickbakeError(f"{path}: differs[{index}]: needs exactly a path and a why (non-empty strings)")
        if item["path"].startswith(("/", "./")):
            raise KickbakeError(f"{path}: differs[{index}].path: {item['path']!r}: write it relative "
                                "(etc/..., not /etc)")
        found.append(Expected(item["path"], " ".join(item["why"].split())))
    return tuple(found)


def _normal(name: str) -> str:
    return name.removeprefix("./").removeprefix("/").rstrip("/") or "."


def _content_sha256(image: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    digest = hashlib.sha256()
    handle = image.extractfile(member)
    while handle is not None and (block := handle.read(1 << 20)):
        digest.update(block)
    return digest.hexdigest()


def read_tar(path: Path) -> dict[str, Entry]:
    """Every path of a tar image with what is compared of it; hard links resolved to their file."""
    entries: dict[str, Entry] = {}
    links: dict[str, str] = {}
    try:
        with tarfile.open(path) as image:
            for member in image:
                name = _normal(member.name)
                if member.islnk():
                    links[name] = _normal(member.linkname)
                    continue
                kind = _KINDS.get(member.type, f"type-{member.type!r}")
                digest = _content_sha256(image, member) if member.isfile() else ""
                entries[name] = Entry(
                    kind, digest, f"{member.mode:04o}", f"{member.uid}:{member.gid}",
                    member.linkname if member.issym() else "",
                    f"{member.devmajor}:{member.devminor}" if member.ischr() or member.isblk() else "")
    except (OSError, tarfile.TarError) as exc:
        raise KickbakeError(f"{path}: cannot read it as a tar image: {exc}",
                            hint="give the <image>.tar ./kb build writes (types: [tar])") from exc
    for name, target in links.items():
        entries[name] = entries.get(target, Entry("hardlink", target=target))
    return entries


def _aspects(a: Entry, b: Entry) -> tuple[str, ...]:
    return tuple(aspect for aspect in ASPECTS if getattr(a, aspect) != getattr(b, aspect))


def compare_entries(a: dict[str, Entry], b: dict[str, Entry],
                    expected: tuple[Expected, ...] = ()) -> tuple[int, list[Difference]]:
    """(paths compared, the paths that differ, sorted, each with its documented why if any)."""
    differences = []
    for path in sorted(set(a) | set(b)):
        before, after = a.get(path), b.get(path)
        aspects = ("added",) if before is None else ("removed",) if after is None else _aspects(before, after)
        if aspects:
            why = next((e.why for e in expected if e.matches(path)), "")
            differences.append(Difference(path, aspects, why))
    return len(set(a) | set(b)), differences


def diff_images(a: str | Path, b: str | Path, expected: tuple[Expected, ...] | None = None) -> FileDiff:
    """Compare two tar images against the documented list (or `expected`)."""
    expected = expected_differences() if expected is None else expected
    count, differences = compare_entries(read_tar(Path(a)), read_tar(Path(b)), expected)
    return FileDiff(str(a), str(b), count, differences)


def unused_entries(result: FileDiff, expected: tuple[Expected, ...] | None = None) -> list[str]:
    """Documented paths no difference matched (the list may be longer than needed; say so)."""
    expected = expected_differences() if expected is None else expected
    return [e.path for e in expected if not any(e.matches(d.path) for d in result.differences)]


def reproducible_markdown(expected: tuple[Expected, ...] | None = None) -> str:
    """docs/reproducible.md's table, generated from reproducible.yml (the test keeps it current)."""
    expected = expected_differences() if expected is None else expected
    lines = ["<!-- generated from src/kickbake/record/reproducible.yml: pytest tests/unit/test_filediff.py "
             "--update-golden rewrites it -->", "",
             "| path (glob) | why it may differ between two builds of the same inputs |", "|---|---|"]
    lines += [f"| `{e.path}` | {e.why.replace('|', '/')} |" for e in expected]
    return "\n".join(lines) + "\n"
