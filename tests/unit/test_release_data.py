"""The release data's diskimage-builder settings: a typed, frozen model, validated at load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from kickbake.errors import BadInput
from kickbake.model.catalog import DiskImage, load_releases
from kickbake.paths import RELEASES_DIR


def test_every_release_has_typed_diskimage_settings() -> None:
    for release in load_releases().values():
        assert isinstance(release.diskimage, DiskImage), release.name
        assert release.diskimage.element in {"fedora", "centos", "debian-minimal"}
    debian = load_releases()["debian-12"].diskimage
    assert (debian.element, debian.release, debian.bootstrap) == ("debian-minimal", "bookworm", "minbase")
    assert "initramfs-tools" in debian.base_packages
    assert load_releases()["el9"].diskimage == DiskImage(element="centos", release="9-stream")


def test_the_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        load_releases()["el9"].diskimage.release = "10-stream"  # type: ignore[misc]


@pytest.mark.parametrize("name", sorted(load_releases()))
def test_the_dib_mapping_is_exactly_what_the_release_file_writes(name: str) -> None:
    """The package layer's id hashes `release.dib` (build/identity.py): the same JSON as the
    untyped mapping it was, so cached layers keep their ids."""
    written = yaml.safe_load((RELEASES_DIR / f"{name}.yml").read_text())["dib"]
    assert json.dumps(load_releases()[name].dib, sort_keys=True) == json.dumps(written, sort_keys=True)


def test_an_unknown_dib_key_is_an_error_with_its_line(tmp_path: Path) -> None:
    text = (RELEASES_DIR / "el9.yml").read_text().replace("  release: 9-stream\n", "  release: 9-stream\n  mirror: x\n")
    (tmp_path / "el9.yml").write_text(text)
    with pytest.raises(BadInput) as caught:
        load_releases.__wrapped__(tmp_path)
    line = text.splitlines().index("  mirror: x") + 1
    assert f"el9.yml:{line}: dib.mirror:" in str(caught.value)
