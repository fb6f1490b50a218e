"""The same inputs give byte-identical outputs: every file of a rendered site (kickstarts, node
and install bundles, install descriptors, PXE tree, secrets index, inputs.json), in another output
root with the same secrets and again as a second generation over the first. Secrets are random
once per site and then carried over, so the other root is seeded with the first one's."""

from __future__ import annotations

from pathlib import Path

import pytest

from kickbake import commands
from kickbake.output import seed_generation
from tests.conftest import BUNDLED
from tests.golden_tree import files_of


def rendered(out_root: Path, site: str) -> dict[str, bytes]:
    # dnsmasq.conf and nginx-site.conf name the output root itself (tftp-root, root)
    return {name: data.replace(bytes(out_root.absolute()), b"ROOT") for name, data in files_of(out_root / site).items()}


@pytest.mark.parametrize("site", BUNDLED, ids=lambda p: p.stem)
def test_rendering_again_gives_identical_bytes(site: Path, tmp_path: Path) -> None:
    first = commands.render_site(site, tmp_path / "a")
    (tmp_path / "b").mkdir()
    seed_generation(tmp_path / "b", first.site, tmp_path / "a" / first.site / "secrets")
    commands.render_site(site, tmp_path / "b")
    again = rendered(tmp_path / "b", first.site)
    assert again == rendered(tmp_path / "a", first.site)
    assert any(name.startswith("nodes/") for name in again) and any(name.startswith("pxe/") for name in again)
    commands.render_site(site, tmp_path / "b")  # a second generation over the first
    assert rendered(tmp_path / "b", first.site) == again
