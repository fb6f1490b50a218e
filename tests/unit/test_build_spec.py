"""./kb build --dry-run: the exact disk-image-create command and environment per site, and the
mirror read from the host's apt sources at run time (never from a committed file)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from kickbake.build import build_images
from kickbake.build.aptsources import host_apt_sources, host_mirror
from kickbake.build.spec import build_spec, image_named
from kickbake.errors import BadInput, KickbakeError
from kickbake.model import load_site, plan
from tests.conftest import ROOT, SITES


def dry_run(site: str, image: str, layout: str = "baremetal") -> str:
    [result] = build_images(plan(load_site(SITES / f"{site}.yml")), ROOT / "output", image, layout=layout, dry_run=True)
    return result.command


def command_and_env(text: str) -> tuple[list[str], dict[str, str]]:
    words = shlex.split(text.replace("\\\n", " "))
    env = dict(w.split("=", 1) for w in words if "=" in w and not w.startswith("-"))
    return [w for w in words if not ("=" in w and not w.startswith("-"))], env


def test_lab_legacy_dry_run_is_fedora_15_with_the_legacy_stack() -> None:
    argv, env = command_and_env(dry_run("lab-legacy", "storage-node"))
    assert argv == ["disk-image-create", "-a", "amd64", "-t", "qcow2", "-o", "storage-node", "--checksum",
                    "fedora", "kickbake-base", "kickbake-firstboot", "clvm-legacy", "drbd", "openstack-compute",
                    "baremetal"]
    assert env["DIB_RELEASE"] == "15"
    assert env["ELEMENTS_PATH"] == str(ROOT / "elements")
    assert env["KICKBAKE_PAYLOAD"].endswith("output/lab-legacy/images/.storage-node.payload")
    assert "DIB_DISTRIBUTION_MIRROR" not in env  # rpm repos go into the image's yum.repos.d


def test_lab_el9_dry_run_is_centos_9_stream_with_pacemaker() -> None:
    argv, env = command_and_env(dry_run("lab-el9", "storage-node", layout="vm"))
    roles = ["drbd", "ha-cluster", "openstack-compute"]
    assert argv[-7:] == ["centos", "kickbake-base", "kickbake-firstboot", *roles, "vm"]
    assert env["DIB_RELEASE"] == "9-stream"
    assert env["DIB_IMAGE_SIZE"] == "4"
    argv, _ = command_and_env(dry_run("lab-el9", "controller"))
    assert argv[-4:] == ["kickbake-base", "kickbake-firstboot", "openstack-controller", "baremetal"]


def test_lab_debian_mirror_comes_from_the_host_apt_sources_at_run_time() -> None:
    if not any(s.suite == "bookworm" for s in host_apt_sources()):
        pytest.skip("this host's apt has no bookworm source")
    argv, env = command_and_env(dry_run("lab-debian", "storage-node"))
    mirror, sources = host_mirror("bookworm")
    assert env["DIB_DISTRIBUTION_MIRROR"] == mirror
    assert env["DIB_APT_SOURCES_CONF"].splitlines()[0] == f"default:deb {mirror} bookworm main"
    assert len(env["DIB_APT_SOURCES_CONF"].splitlines()) == len(sources)
    assert argv[-6:] == ["kickbake-base", "kickbake-firstboot", "drbd", "ha-cluster", "openstack-compute", "baremetal"]
    assert argv[argv.index("-t") + 1] == "qcow2,tar"


def test_no_mirror_host_is_committed_in_sites_repos_or_elements() -> None:
    mirror, _ = host_mirror("bookworm") if any(s.suite == "bookworm" for s in host_apt_sources()) else ("", [])
    if not mirror:
        pytest.skip("this host's apt has no bookworm source")
    host = mirror.split("/")[2]
    for folder in ("sites", "repos", "elements", "src"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix not in {".pyc"}:
                assert host not in path.read_text(errors="replace"), path


def test_apt_sources_both_formats(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    one_line = "# comment\ndeb [arch=amd64] http://mirror.test/debian/ bookworm main contrib\n"
    (tmp_path / "sources.list").write_text(one_line)
    (tmp_path / "sources.list.d" / "x.sources").write_text(
        "Types: deb deb-src\nURIs: http://mirror.test/debian\nSuites: bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://security.test/debian-security\nSuites: bookworm-security\nComponents: main\n\n"
        "Types: deb\nEnabled: no\nURIs: http://off.test/debian\nSuites: bookworm\nComponents: main\n"
    )
    mirror, sources = host_mirror("bookworm", tmp_path)
    assert mirror == "http://mirror.test/debian"
    found = [(s.suite, s.components) for s in sources]
    assert found == [("bookworm", ("main", "contrib")), ("bookworm-updates", ("main",))]
    with pytest.raises(KickbakeError, match="no 'trixie' suite"):
        host_mirror("trixie", tmp_path)


def test_bake_base_leaves_role_packages_to_first_boot() -> None:
    site_plan = plan(load_site(SITES / "lab-el9.yml"))
    [image] = image_named(site_plan, "storage-node")
    spec = build_spec(site_plan, image.model_copy(update={"bake": "base"}), layout="baremetal")
    assert spec.elements == ("centos", "kickbake-base", "kickbake-firstboot", "baremetal")
    assert spec.baked_nodes == ("drbd-node1", "drbd-node2")
    full = build_spec(site_plan, image.model_copy(update={"bake": "full"}), layout="baremetal")
    assert full.baked_nodes == tuple(n.hostname for n in site_plan.nodes)


def test_unknown_image_and_type_are_refused() -> None:
    site_plan = plan(load_site(SITES / "lab-debian.yml"))
    with pytest.raises(BadInput, match="image 'nope' is not defined"):
        image_named(site_plan, "nope")
    with pytest.raises(BadInput, match="unknown image type"):
        build_spec(site_plan, site_plan.site.images[0], ("vmdk",), layout="baremetal")
