"""liveimg kickstart variants: rendered only once the node's image tar is built, carrying that
tar's sha256, valid for pykickstart, with no %packages, and booted by the node's PXE entry."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

from kickbake.commands import render_site
from kickbake.validate.kickstart import validate_kickstart
from tests.conftest import SITES
from tests.unit.test_pxe_files import parse_pxelinux


def live_site(tmp_path: Path) -> Path:
    """lab-el9 whose images are also baked as tar."""
    text = (SITES / "lab-el9.yml").read_text().replace("site: lab-el9", "site: lab-live")
    assert text.count("    types: [qcow2]\n") == 2
    site = tmp_path / "lab-live.yml"
    site.write_text(text.replace("    types: [qcow2]\n", "    types: [qcow2, tar]\n"))
    return site


def write_image_tar(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        data = b"storage-node image\n"
        info = tarfile.TarInfo("etc/kickbake/image")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def notes_of(result, node: str) -> list[str]:
    return next(n.notes for n in result.nodes if n.node == node)


def test_variant_waits_for_the_built_image_then_installs_it(tmp_path: Path) -> None:
    site, out_root = live_site(tmp_path), tmp_path / "output"
    first = render_site(site, out_root)
    assert not (out_root / "lab-live/kickstarts/drbd-node1-liveimg.ks").exists()
    assert any("image storage-node is not built yet" in n for n in notes_of(first, "drbd-node1"))

    sha = write_image_tar(out_root / "lab-live/images/storage-node.tar")
    second = render_site(site, out_root)
    kickstart = (out_root / "lab-live/kickstarts/drbd-node1-liveimg.ks").read_text()
    url = "http://192.168.122.1/lab-live/images/storage-node.tar"
    assert f"\nliveimg --url={url} --checksum={sha}\n" in kickstart
    assert "\n%packages" not in kickstart and "\nurl " not in kickstart and "\nrepo " not in kickstart
    assert f"KICKBAKE_IMAGE=storage-node\nKICKBAKE_IMAGE_ID=sha256:{sha}\n" in kickstart
    assert "KICKBAKE_INSTALLED_BY=liveimg" in kickstart
    assert validate_kickstart(kickstart, "RHEL9") == []
    assert "kickstarts/drbd-node1-liveimg.ks" in next(n.outputs for n in second.nodes if n.node == "drbd-node1")

    # the node's PXE entry now fetches the liveimg kickstart; the controller's image is not built
    args = parse_pxelinux((out_root / "lab-live/pxe/pxelinux.cfg/01-52-54-00-00-01-21").read_text())[2]
    assert "inst.ks=http://192.168.122.1/lab-live/kickstarts/drbd-node1-liveimg.ks" in args
    controller = parse_pxelinux((out_root / "lab-live/pxe/pxelinux.cfg/01-52-54-00-00-01-20").read_text())[2]
    assert "inst.ks=http://192.168.122.1/lab-live/kickstarts/controller.ks" in controller
    assert any("image controller is not built yet" in n for n in notes_of(second, "controller"))


def test_a_changed_image_changes_the_checksum(tmp_path: Path) -> None:
    site, out_root = live_site(tmp_path), tmp_path / "output"
    render_site(site, out_root)
    tar = out_root / "lab-live/images/storage-node.tar"
    write_image_tar(tar)
    render_site(site, out_root)
    before = (out_root / "lab-live/kickstarts/drbd-node2-liveimg.ks").read_text()
    tar.unlink()  # a rebuild replaces the file
    tar.write_bytes(b"another image")
    render_site(site, out_root)
    after = (out_root / "lab-live/kickstarts/drbd-node2-liveimg.ks").read_text()
    assert before != after and hashlib.sha256(b"another image").hexdigest() in after


def test_pykickstart_rejects_liveimg_where_anaconda_lacked_it(tmp_path: Path) -> None:
    """The validation is real: Fedora 15's handler has no liveimg, and the renderer never emits it there."""
    site, out_root = live_site(tmp_path), tmp_path / "output"
    render_site(site, out_root)
    write_image_tar(out_root / "lab-live/images/storage-node.tar")
    render_site(site, out_root)
    kickstart = (out_root / "lab-live/kickstarts/drbd-node1-liveimg.ks").read_text()
    assert any("liveimg" in f.text for f in validate_kickstart(kickstart, "F15"))
    legacy = render_site(SITES / "lab-legacy.yml", tmp_path / "legacy")
    assert any("Fedora 15's anaconda has no liveimg" in n for n in notes_of(legacy, "drbd-node1"))
