"""The SBOM validators refuse bad documents (so 'validated' means something), and the SBOMs are
byte-identical for the same input."""

from __future__ import annotations

import json

import pytest
from spdx_tools.spdx.model import Checksum, ChecksumAlgorithm, File, Relationship, RelationshipType
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from kickbake.errors import KickbakeError
from kickbake.record import cyclonedx, spdx
from kickbake.record.manifest import RecordContext, build_manifest
from kickbake.record.packages import PackageRecord

RECORDS = [
    PackageRecord("bash", "x86_64", "5.2.26", "1.fc43", license="GPL-3.0-or-later", digest="0" * 32),
    PackageRecord("zlib", "x86_64", "1.3", "1.fc43", epoch=1, license="zlib and Boost", source="zlib-1.3.src.rpm"),
]


@pytest.fixture
def manifest(monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    return build_manifest(RECORDS, RecordContext(site="s", image="img", release="fedora-43", distro="fedora"), None)


def test_cyclonedx_schema_refuses_duplicates_and_bad_values(manifest: dict) -> None:
    bom = json.loads(cyclonedx.cyclonedx_json(manifest, RECORDS))
    assert {c["purl"] for c in bom["components"]} == {"pkg:rpm/fedora/bash@5.2.26-1.fc43?arch=x86_64",
                                                      "pkg:rpm/fedora/zlib@1.3-1.fc43?arch=x86_64&epoch=1"}
    duplicated = {**bom, "components": bom["components"] + bom["components"][:1]}
    with pytest.raises(KickbakeError, match="non-unique"):
        cyclonedx.validate_cyclonedx(json.dumps(duplicated), "img")
    bom["components"][0]["type"] = "banana"
    with pytest.raises(KickbakeError, match="banana"):
        cyclonedx.validate_cyclonedx(json.dumps(bom), "img")


def test_spdx_validator_refuses_an_undeclared_license_ref(manifest: dict) -> None:
    document = spdx.build_document(manifest, RECORDS)
    spdx.validate_document(document)
    document.extracted_licensing_info.clear()  # LicenseRef-Boost is used but no longer declared
    with pytest.raises(KickbakeError, match="LicenseRef-Boost"):
        spdx.validate_document(document)


def test_same_records_same_bytes(manifest: dict) -> None:
    assert spdx.spdx_json(manifest, RECORDS) == spdx.spdx_json(manifest, list(reversed(RECORDS)))
    assert cyclonedx.cyclonedx_json(manifest, RECORDS) == cyclonedx.cyclonedx_json(manifest, list(reversed(RECORDS)))


def test_indexed_spdx_validation_reports_what_the_plain_validator_reports(manifest: dict) -> None:
    document = spdx.build_document(manifest, RECORDS)
    image = document.packages[0].spdx_id
    document.relationships.append(Relationship(image, RelationshipType.CONTAINS, "SPDXRef-nowhere"))
    document.files.append(File("/usr/bin/bash", "SPDXRef-File-bash", [Checksum(ChecksumAlgorithm.SHA1, "0" * 40)]))
    document.relationships.append(Relationship(image, RelationshipType.CONTAINS, "SPDXRef-File-bash"))
    document.packages.append(document.packages[1])  # a duplicate id
    plain = sorted(m.validation_message for m in validate_full_spdx_document(document))
    assert len(plain) >= 3
    assert sorted(m.validation_message for m in spdx.validation_messages(document)) == plain


@pytest.mark.filterwarnings("ignore:The Component this BOM is describing")  # a BOM of loose components
def test_components_copied_from_a_template_serialize_like_constructed_ones(manifest: dict) -> None:
    """build_bom copies a template Component instead of constructing each one (speed); the
    result must be the same JSON as cyclonedx-python-lib's own constructor gives."""
    from cyclonedx.model.component import Component
    from cyclonedx.output.json import JsonV1Dot6

    def bom_with(make) -> dict:
        bom = cyclonedx.build_bom(manifest, [])
        for record in RECORDS:
            bom.components.add(make(record))
        return json.loads(JsonV1Dot6(bom).output_as_string())["components"]

    template = Component(name="template")
    copied = bom_with(lambda r: cyclonedx._component(r, "fedora", template))
    constructed = bom_with(lambda r: cyclonedx._component(r, "fedora"))
    assert copied == constructed
    assert [c["bom-ref"] for c in copied] == [c["purl"] for c in copied]  # each its own, not the template's
    assert copied[1]["licenses"] and "hashes" not in copied[1] and copied[0]["hashes"][0]["alg"] == "MD5"
