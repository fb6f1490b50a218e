"""The proof on real tools: rpmbuild -> createrepo_c -> libsolv lock -> dnf --installroot of exactly
the lock -> rpm reads the rpmdb back -> manifest + SPDX + CycloneDX, validated -> bump a version,
rebuild -> `kickbake diff` reports the upgrade."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from kickbake.errors import BadInput, KickbakeError
from kickbake.model.catalog import Repo
from kickbake.record.diff import diff_manifests
from kickbake.record.image import record_image
from kickbake.record.lock import ImageRequest, lock_changes, lock_images, lock_text, pinned_packages
from kickbake.record.manifest import RecordContext
from kickbake.record.rpmdb import read_installed_tsv, read_rpmdb
from tests.conftest import ROOT, require_tool
from tests.integration.rpmfixture import FakePackage, build_repo, dnf_install, signing_key

pytestmark = pytest.mark.realtool

PACKAGES = [
    FakePackage("kb-lib", "1.0", "MIT"),
    FakePackage("kb-tool", "2.1", "GPLv2+", ("kb-lib >= 1.0",)),
    FakePackage("kb-extra", "0.3", "ASL 2.0 and Frobnicate"),
    FakePackage("kb-unused", "9.9", "BSD"),
]


def _build(base: Path, packages: list[FakePackage], image_name: str = "node") -> tuple[dict, Path]:
    """Repo -> lock -> install the lock -> image files; returns the lock and the manifest path."""
    repo = build_repo(base, packages, sign=True)
    request = ImageRequest(image_name, "fedora-43", "rpm", (Repo(name="fixture", kind="rpm", baseurl=f"file://{repo}"),),
                           ("kb-tool", "kb-extra"))
    lock = lock_images("proof", [request], base / "cache")
    root = base / "root"
    dnf_install(base, repo, root, pinned_packages(lock, image_name))
    image_file = base / "images" / f"{image_name}.raw"
    image_file.parent.mkdir(parents=True, exist_ok=True)
    image_file.write_bytes(b"an image of " + lock_text(lock).encode())
    context = RecordContext(site="proof", image=image_name, release="fedora-43", distro="fedora",
                            inventory_slice={"licenses": {"deny": []}})
    return lock, record_image(root, image_file, context).manifest


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    for tool in ("rpmbuild", "createrepo_c", "dnf", "rpm"):
        require_tool(tool)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        yield _two_builds(tmp_path_factory)


def _two_builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    first = tmp_path_factory.mktemp("build1")
    second = tmp_path_factory.mktemp("build2")
    bumped = [FakePackage("kb-lib", "1.1", "MIT or Apache-2.0") if p.name == "kb-lib" else p for p in PACKAGES]
    lock1, manifest1 = _build(first, PACKAGES)
    lock2, manifest2 = _build(second, bumped)
    return {"lock1": lock1, "lock2": lock2, "m1": manifest1, "m2": manifest2, "root1": first / "root",
            "key": signing_key(first)}


def test_lock_pins_the_solved_closure_with_checksums(builds: dict) -> None:
    packages = builds["lock1"]["images"]["node"]["packages"]
    assert [p["name"] for p in packages] == ["kb-extra", "kb-lib", "kb-tool"]  # kb-lib pulled in, kb-unused not
    for package in packages:
        assert package["checksum"].startswith("sha256:") and len(package["checksum"]) == 71
        assert package["location"] == f"noarch/{package['name']}-{package['version']}-1.noarch.rpm"
    assert pinned_packages(builds["lock1"], "node") == ["kb-extra-0.3-1.noarch", "kb-lib-1.0-1.noarch",
                                                        "kb-tool-2.1-1.noarch"]


def test_lock_update_reports_the_change(builds: dict) -> None:
    changes = [str(c) for c in lock_changes(builds["lock1"], builds["lock2"])]
    assert changes == ["node: ~ kb-lib.noarch 1.0-1 -> 1.1-1"]


def test_rpmdb_read_back_matches_the_lock(builds: dict) -> None:
    records = read_rpmdb(builds["root1"])
    assert [(r.name, r.evr) for r in records] == [("kb-extra", "0.3-1"), ("kb-lib", "1.0-1"), ("kb-tool", "2.1-1")]
    assert {r.name: r.license for r in records}["kb-tool"] == "GPLv2+"
    assert all(len(r.digest) == 32 and r.source.endswith(".src.rpm") for r in records)
    assert {r.signed_by for r in records} == {builds["key"]}  # the key id from the rpm signature header


def test_manifest_lists_packages_with_spdx_licenses(builds: dict) -> None:
    manifest = json.loads(builds["m1"].read_text())
    by_name = {p["name"]: p for p in manifest["packages"]}
    assert by_name["kb-tool"]["license_spdx"] == "GPL-2.0-or-later"
    assert by_name["kb-extra"]["license_spdx"] == "Apache-2.0 AND LicenseRef-Frobnicate"
    assert by_name["kb-lib"]["purl"] == "pkg:rpm/fedora/kb-lib@1.0-1?arch=noarch"
    assert manifest["build_time"] == "2023-11-14T22:13:20Z"
    assert len(manifest["image_id"]) == 64 and manifest["image_file"]["sha256"]


def test_spdx_parses_back_and_validates(builds: dict) -> None:
    document = parse_file(str(builds["m1"].with_name("node.spdx.json")))
    assert validate_full_spdx_document(document) == []
    names = {p.name for p in document.packages}
    assert {"kb-lib", "kb-tool", "kb-extra", "node"} <= names
    assert [e.license_id for e in document.extracted_licensing_info] == ["LicenseRef-Frobnicate"]


def test_cyclonedx_validates_against_the_1_6_schema(builds: dict) -> None:
    text = builds["m1"].with_name("node.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = json.loads(text)
    assert bom["specVersion"] == "1.6"
    purls = sorted(c["purl"] for c in bom["components"])
    assert purls[0] == "pkg:rpm/fedora/kb-extra@0.3-1?arch=noarch"
    extra = next(c for c in bom["components"] if c["name"] == "kb-extra")
    assert {"name": "kickbake:rpm:signed-by", "value": builds["key"]} in extra["properties"]
    assert extra["licenses"] == [{"expression": "Apache-2.0 AND LicenseRef-Frobnicate"}]


def test_kb_diff_shows_the_upgrade_and_license_change(builds: dict) -> None:
    kickbake = Path(sys.executable).with_name("kickbake")
    proc = subprocess.run([str(kickbake), "diff", str(builds["m1"]), str(builds["m2"]), "--json"],
                          capture_output=True, text=True, env={**os.environ, "KICKBAKE_ROOT": str(ROOT)}, check=True)
    changes = json.loads(proc.stdout)["changes"]
    kinds = {(c["kind"], c["name"]): (c["before"], c["after"]) for c in changes}
    assert kinds[("upgraded", "kb-lib.noarch")] == ("1.0-1", "1.1-1")
    assert kinds[("license", "kb-lib.noarch")] == ("MIT", "MIT OR Apache-2.0")
    assert ("input", "image_sha256") in kinds
    table = subprocess.run([str(kickbake), "diff", str(builds["m1"]), str(builds["m2"])], capture_output=True,
                           text=True, env={**os.environ, "KICKBAKE_ROOT": str(ROOT), "COLUMNS": "200"}, check=True)
    assert "upgraded" in table.stdout and "kb-lib.noarch" in table.stdout


def test_recording_twice_gives_identical_files(builds: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    before = {p.name: p.read_bytes() for p in builds["m1"].parent.glob("node.*.json")}
    context = RecordContext(site="proof", image="node", release="fedora-43", distro="fedora",
                            inventory_slice={"licenses": {"deny": []}})
    record_image(builds["root1"], builds["m1"].with_name("node.raw"), context)
    after = {p.name: p.read_bytes() for p in builds["m1"].parent.glob("node.*.json")}
    assert before == after and len(after) == 3


def test_denied_license_fails_naming_the_package(builds: dict) -> None:
    context = RecordContext(site="proof", image="node", release="fedora-43", distro="fedora",
                            inventory_slice={"licenses": {"deny": ["GPL-2.0-or-later"]}})
    with pytest.raises(BadInput) as caught:
        record_image(builds["root1"], builds["m1"].with_name("node.raw"), context)
    assert "kb-tool-2.1-1.noarch: license 'GPLv2+' needs denied GPL-2.0-or-later" in str(caught.value)
    assert caught.value.exit_code == 2


def _post_query_format() -> str:
    """The exact rpm query the kickstart %post runs (kickstarts/snippets/post.ks.j2)."""
    template = (ROOT / "kickstarts" / "snippets" / "post.ks.j2").read_text()
    found = re.search(r"rpm -qa --qf '([^']+)'", template)
    assert found, "post.ks.j2 no longer writes installed-packages.tsv"
    return found.group(1)


def test_kickstart_tsv_gives_the_same_record_as_the_rpmdb(builds: dict, tmp_path: Path) -> None:
    root = builds["root1"]
    argv = ["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm", "-qa", "--qf", _post_query_format()]
    query = subprocess.run(argv,
                           capture_output=True, text=True, check=True).stdout
    tsv = tmp_path / "installed-packages.tsv"
    tsv.write_text("".join(sorted(query.splitlines(keepends=True))))
    from_tsv = [(r.name, r.evr, r.license, r.digest, r.source) for r in read_installed_tsv(tsv)]
    assert from_tsv == [(r.name, r.evr, r.license, r.digest, r.source) for r in read_rpmdb(root)]
    env = {**os.environ, "KICKBAKE_ROOT": str(ROOT), "KICKBAKE_OUTPUT": str(tmp_path / "out"), "SOURCE_DATE_EPOCH": "0"}
    kickbake = str(Path(sys.executable).with_name("kickbake"))
    proc = subprocess.run([kickbake, "record", "--site", str(ROOT / "sites/lab-el9.yml"), "--node", "drbd-node1",
                           "--tsv", str(tsv), "--json"], capture_output=True, text=True, env=env, check=True)
    manifest = json.loads(Path(json.loads(proc.stdout)["manifest"]).read_text())
    assert manifest["installed_by"] == "kickstart" and manifest["release"] == "el9"
    assert [p["purl"] for p in manifest["packages"]][0] == "pkg:rpm/centos/kb-extra@0.3-1?arch=noarch"
    licenses = subprocess.run([kickbake, "licenses", "--site", str(ROOT / "sites/lab-el9.yml"), "--json"],
                              capture_output=True, text=True, env=env, check=True)
    assert json.loads(licenses.stdout)["drbd-node1"]["GPL-2.0-or-later"] == 1
    denying = tmp_path / "lab-el9.yml"
    denying.write_text((ROOT / "sites/lab-el9.yml").read_text() + "licenses:\n  deny: [GPL-2.0-or-later]\n")
    refused = subprocess.run([kickbake, "licenses", "--site", str(denying)], capture_output=True, text=True, env=env)
    assert refused.returncode == 2
    assert "kb-tool-2.1-1.noarch: license 'GPLv2+' needs denied GPL-2.0-or-later" in refused.stderr


def test_lock_is_deterministic(builds: dict, tmp_path: Path) -> None:
    repo_url = builds["lock1"]["images"]["node"]["repos"]["fixture"]
    request = ImageRequest("node", "fedora-43", "rpm", (Repo(name="fixture", kind="rpm", baseurl=repo_url),),
                           ("kb-extra", "kb-tool"))
    assert lock_text(lock_images("proof", [request], tmp_path / "cache")) == lock_text(builds["lock1"])


def test_diff_by_image_id(builds: dict) -> None:
    ids = [json.loads(builds[m].read_text())["image_id"] for m in ("m1", "m2")]
    search = builds["m1"].parents[2]  # both builds live under the same pytest temporary root
    result = diff_manifests(ids[0][:12], ids[1][:12], search)
    assert [c.name for c in result.of_kind("upgraded")] == ["kb-lib.noarch"]
    with pytest.raises(KickbakeError, match="no such manifest"):
        diff_manifests("deadbeefdeadbeef", ids[1], search)
