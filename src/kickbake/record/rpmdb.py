"""Read an image's rpm database (`rpm --root R --dbpath D -qa`), or the same columns from the
installed-packages.tsv that a kickstart %post writes, into PackageRecords."""

from __future__ import annotations

import re
from pathlib import Path

from kickbake.bounded import read_text_bounded
from kickbake.errors import BadInput
from kickbake.record.packages import PackageRecord, sorted_records
from kickbake.run import run

# The kickstart %post writes the first 8 columns (kickstarts/snippets/post.ks.j2); the 9th is the
# signature, present when read from an image here.
COLUMNS = ("NAME", "EPOCH", "VERSION", "RELEASE", "ARCH", "LICENSE", "SOURCERPM", "SIGMD5")
SIGNATURE = "%|DSAHEADER?{%{DSAHEADER:pgpsig}}:{%|RSAHEADER?{%{RSAHEADER:pgpsig}}:{(none)}|}|"
QUERY_FORMAT = "\\t".join(f"%{{{c}}}" for c in COLUMNS) + "\\t" + SIGNATURE + "\\n"
DBPATHS = ("usr/lib/sysimage/rpm", "var/lib/rpm")
_KEY_ID = re.compile(r"Key ID ([0-9a-fA-F]+)")
_NOT_PACKAGES = {"gpg-pubkey", "gpg-pubkey-release"}  # imported keys show up as pseudo packages


def dbpath_of(root: Path) -> str:
    """Where this root keeps its rpmdb (Fedora 36+/EL10 use /usr/lib/sysimage/rpm)."""
    for candidate in DBPATHS:
        if (root / candidate).is_dir() and any((root / candidate).iterdir()):
            return "/" + candidate
    raise BadInput(f"{root}: no rpm database under {' or '.join(DBPATHS)}", hint="is this an rpm-based image root?")


def _none(value: str) -> str:
    return "" if value == "(none)" else value


def parse_rpm_line(line: str, repo: str = "") -> PackageRecord | None:
    """One tab-separated line in COLUMNS order (+ optional signature) -> a record."""
    fields = line.rstrip("\n").split("\t")
    if len(fields) < len(COLUMNS):
        raise ValueError(f"expected {len(COLUMNS)} tab-separated columns, got {len(fields)}: {line!r}")
    name, epoch, version, release, arch, license_text, source, sigmd5 = fields[:8]
    if name in _NOT_PACKAGES:
        return None
    key = _KEY_ID.search(fields[8]) if len(fields) > 8 else None
    return PackageRecord(
        name=name, arch=_none(arch), version=version, release=release,
        epoch=int(epoch) if _none(epoch) else None, kind="rpm", license=_none(license_text),
        source=_none(source), digest=_none(sigmd5), signed_by=key.group(1).lower() if key else "", repo=repo,
    )


def parse_rpm_table(text: str, origin: str) -> list[PackageRecord]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = parse_rpm_line(line)
        except ValueError as exc:
            hint = "write the columns of kickstarts/snippets/post.ks.j2"
            raise BadInput(f"{origin}:{number}: {exc}", hint=hint) from exc
        if record is not None:
            records.append(record)
    return sorted_records(records)


def read_rpmdb(root: Path, dbpath: str | None = None) -> list[PackageRecord]:
    """Every package installed in the image root, read by the real rpm."""
    dbpath = dbpath or dbpath_of(root)
    proc = run(["rpm", "--root", str(root.resolve()), "--dbpath", dbpath, "-qa", "--qf", QUERY_FORMAT],
               env={"LC_ALL": "C"})
    return parse_rpm_table(proc.stdout, f"rpm --root {root}")


def read_installed_tsv(path: Path) -> list[PackageRecord]:
    """The /var/lib/kickbake/installed-packages.tsv a kickstart-installed node wrote."""
    return parse_rpm_table(read_text_bounded(path), str(path))
