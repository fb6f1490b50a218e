"""The dpkg reader on real data: this Debian host's own /var/lib/dpkg/status and copyright files,
checked against dpkg-query; then manifest + both SBOMs for that package set, validated."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from kickbake.record.dpkg import copyright_license, read_dpkg
from kickbake.record.image import _extract_databases, read_packages, record_image
from kickbake.record.manifest import RecordContext
from tests.conftest import require_tool

pytestmark = pytest.mark.realtool
HOST = Path("/")


def _dpkg_query() -> dict[tuple[str, str], str]:
    out = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Status}\t${Package}\t${Architecture}\t${Version}\n"],
                         capture_output=True, text=True, check=True).stdout
    return {(p, a): v for s, p, a, v in (line.split("\t") for line in out.splitlines()) if s == "installed"}


def test_every_installed_host_package_with_its_version() -> None:
    require_tool("dpkg-query")
    records = read_dpkg(HOST)
    assert {r.key: r.evr for r in records} == _dpkg_query()


def test_dep5_copyright_licenses_are_read() -> None:
    records = {r.name: r for r in read_dpkg(HOST)}
    dep5 = [n for n in records if (HOST / "usr/share/doc" / n / "copyright").is_file()
            and "copyright-format" in (HOST / "usr/share/doc" / n / "copyright").read_text(errors="replace")[:300]]
    assert len(dep5) > 10
    # a few DEP-5 files put the license only in the body ("License:" with an empty first line,
    # e.g. qemu); those stay NOASSERTION, every other one gives its License: names
    with_license = [n for n in dep5 if records[n].license]
    assert len(with_license) >= 0.9 * len(dep5)
    assert copyright_license(HOST, "dpkg").startswith("GPL-2+")  # dpkg's own DEP-5 file


DEP5 = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"


@pytest.mark.parametrize(("body", "expected"), [
    ("Files: *\nCopyright: 2020 A\nLicense: GPL-2+\n\nFiles: lib/*\nLicense: MIT or Apache-2.0\n",
     "GPL-2+ and (MIT or Apache-2.0)"),
    # the license only in the body, the field's first line empty: nothing to name (NOASSERTION)
    ("Files: *\nCopyright: 2020 A\nLicense:\n The whole text of some license.\n", ""),
])
def test_dep5_license_fields_are_named_in_order(tmp_path: Path, body: str, expected: str) -> None:
    (tmp_path / "usr/share/doc/pkg").mkdir(parents=True)
    (tmp_path / "usr/share/doc/pkg/copyright").write_text(DEP5 + body)
    assert copyright_license(tmp_path, "pkg") == expected
    (tmp_path / "usr/share/doc/pkg/copyright").write_text(body)  # without Format: not machine-readable
    assert copyright_license(tmp_path, "pkg") == ""


def test_host_package_set_gives_valid_sboms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    image_file = tmp_path / "host.raw"
    image_file.write_bytes(b"not really an image")
    context = RecordContext(site="host", image="host", release="debian-12", distro="debian")
    paths = record_image(HOST, image_file, context)
    manifest = json.loads(paths.manifest.read_text())
    assert len(manifest["packages"]) == len(_dpkg_query())
    dpkg = next(p for p in manifest["packages"] if p["name"] == "dpkg")
    assert dpkg["purl"].startswith("pkg:deb/debian/dpkg@") and dpkg["license_spdx"].startswith("GPL-2.0-or-later")
    assert validate_full_spdx_document(parse_file(str(paths.spdx))) == []
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(paths.cyclonedx.read_text()) is None


def test_tar_image_is_read_without_unpacking_everything(tmp_path: Path) -> None:
    """A diskimage-builder `-t tar` image: only the dpkg database and copyright files are pulled."""
    tar = tmp_path / "image.tar"
    with tarfile.open(tar, "w") as archive:
        archive.add("/var/lib/dpkg/status", arcname="./var/lib/dpkg/status")
        archive.add("/usr/share/doc/dpkg/copyright", arcname="./usr/share/doc/dpkg/copyright")
        archive.add("/etc/hostname", arcname="./etc/hostname")
    image_file = tmp_path / "image.qcow2"
    image_file.write_bytes(b"x")
    pulled = _extract_databases(tar, tmp_path / "pulled")
    assert sorted(str(p.relative_to(pulled)) for p in pulled.rglob("*") if p.is_file()) == [
        "usr/share/doc/dpkg/copyright", "var/lib/dpkg/status"]  # not etc/hostname: not the whole tree
    paths = record_image(tar, image_file, RecordContext(site="s", image="image", release="debian-12", distro="debian"))
    packages = {p["name"]: p for p in json.loads(paths.manifest.read_text())["packages"]}
    assert packages["dpkg"]["license"].startswith("GPL-2+")
    assert len(packages) == len(read_packages(HOST))
