"""A fresh Debian 12 minbase root (debootstrap from the machine's own apt mirror, read from the apt
sources at run time): the record lists every installed package with its version and license, and
both SBOMs validate. The same path the lab-debian image build takes, without diskimage-builder."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from kickbake.record.image import record_image
from kickbake.record.lock import package_evr
from kickbake.record.manifest import RecordContext
from kickbake.record.mirror import apt_mirror_url
from tests.conftest import require_tool

pytestmark = [pytest.mark.slow, pytest.mark.realtool]


def test_debootstrap_minbase_record(tmp_path: Path) -> None:
    require_tool("debootstrap")
    if os.geteuid() != 0:
        pytest.skip("debootstrap needs root")
    root = tmp_path / "root"
    subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(root), apt_mirror_url()],
                   check=True, capture_output=True, timeout=900)
    installed = subprocess.run(["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f",
                                "${db:Status-Status} ${Package} ${Version}\n"], capture_output=True, text=True,
                               check=True).stdout.split("\n")
    expected = {line.split()[1]: line.split()[2] for line in installed if line.startswith("installed ")}
    image_file = tmp_path / "minbase.tar"
    subprocess.run(["tar", "-C", str(root), "-cf", str(image_file), "."], check=True)
    context = RecordContext(site="lab-debian", image="minbase", release="debian-12", distro="debian")
    for source in (root, image_file):  # the tree and the tar give the same record
        paths = record_image(source, image_file, context)
        packages = json.loads(paths.manifest.read_text())["packages"]
        assert {p["name"]: package_evr(p) for p in packages} == expected
        assert sum(1 for p in packages if p["license"]) > len(packages) // 2
        assert validate_full_spdx_document(parse_file(str(paths.spdx))) == []
        assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(paths.cyclonedx.read_text()) is None


