"""Which files a site's inputs digest covers: its inventory, the templates, its own releases and
the repo files it uses; never another site's or release's files (editing those must not change
this site's kickstarts or image ids)."""

from __future__ import annotations

from kickbake.hashing import sha256_file
from kickbake.model import load_site
from kickbake.record.inputs import input_hashes
from tests.conftest import ROOT, SITES


def test_a_site_hashes_its_own_release_and_repo_files_only() -> None:
    hashes = input_hashes(load_site(SITES / "lab-el9.yml"))
    data = sorted(name for name in hashes if name.startswith(("src/kickbake/releases/", "repos/", "sites/")))
    assert data == ["repos/el9.yml", "sites/lab-el9.yml", "src/kickbake/releases/el9.yml"]
    assert hashes["repos/el9.yml"] == sha256_file(ROOT / "repos" / "el9.yml")
    assert any(name.startswith("kickstarts/") for name in hashes)
    assert any(name.startswith("src/kickbake/render/templates/") for name in hashes)


def test_the_legacy_lab_covers_its_fedora_15_repos() -> None:
    hashes = input_hashes(load_site(SITES / "lab-legacy.yml"))
    assert {"src/kickbake/releases/fedora-15.yml", "repos/fedora-15.yml"} <= set(hashes)
    assert not any(name.endswith(".lock") or "debian" in name for name in hashes)
