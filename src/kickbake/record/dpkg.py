"""Read a Debian image's dpkg database (var/lib/dpkg/status) and the licenses its
usr/share/doc/<package>/copyright files declare (the DEP-5 `License:` fields, where present)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

from kickbake.errors import BadInput
from kickbake.record.packages import PackageRecord, sorted_records, split_deb_version

STATUS = Path("var/lib/dpkg/status")
DEP5_FORMAT = re.compile(r"^Format:\s*\S*copyright-format", re.IGNORECASE | re.MULTILINE)
_LICENSE_FIELD = re.compile(r"^License:[ \t]*(\S[^\n]*)$", re.MULTILINE)


def paragraphs(text: str) -> Iterator[dict[str, str]]:
    """Deb822 paragraphs as {field: first-line value}; continuation lines are dropped (not needed)."""
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line and not line[0].isspace() and ":" in line:
                name, _, value = line.partition(":")
                fields[name] = value.strip()
        if fields:
            yield fields


def _inside(root: Path, path: Path) -> Path:
    """Resolve symlinks as the image would (absolute links point into the root, not the host)."""
    current = root
    for part in path.parts:
        candidate = current / part
        for _ in range(16):
            if not candidate.is_symlink():
                break
            target = Path(candidate.readlink())
            candidate = root / target.relative_to("/") if target.is_absolute() else candidate.parent / target
        current = candidate
    return current


def copyright_license(root: Path, package: str) -> str:
    """The licenses a DEP-5 copyright file declares, joined with AND in order of appearance;
    empty when the file is missing or not machine-readable."""
    path = _inside(root, Path("usr/share/doc") / package / "copyright")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    if not DEP5_FORMAT.search(text):
        return ""
    names: list[str] = []
    for value in _LICENSE_FIELD.findall(text):
        value = value.strip()
        if value and value not in names:
            names.append(value)
    if len(names) > 1:
        names = [f"({n})" if re.search(r"\s(or|and)\s", n, re.IGNORECASE) else n for n in names]
    return " and ".join(names)


def read_dpkg(root: Path) -> list[PackageRecord]:
    """Every installed package (Status: install ok installed) of the image root."""
    status = root / STATUS
    if not status.is_file():
        raise BadInput(f"{status}: no dpkg status file", hint="is this a Debian image root?")
    text = status.read_text(encoding="utf-8", errors="replace")
    return parse_dpkg_status(text, lambda package: copyright_license(root, package))


def parse_dpkg_status(text: str, license_of: Callable[[str], str] = lambda package: "") -> list[PackageRecord]:
    """The installed packages of a dpkg status file's text (a node's install report sends it)."""
    records = []
    for fields in paragraphs(text):
        if fields.get("Status", "").split()[-1:] != ["installed"]:
            continue
        if "Package" not in fields or "Version" not in fields:
            raise BadInput("a dpkg status paragraph without Package or Version",
                           hint="send /var/lib/dpkg/status as it is")
        epoch, version, revision = split_deb_version(fields["Version"])
        source = fields.get("Source", fields["Package"]).split(" ")[0]
        records.append(PackageRecord(
            name=fields["Package"], arch=fields.get("Architecture", ""), version=version, release=revision,
            epoch=epoch, kind="deb", license=license_of(fields["Package"]), source=source,
        ))
    return sorted_records(records)
