"""./kb build --dry-run: the exact disk-image-create command and environment per site, and the
mirror read from the host's apt sources at run time (never from a committed file)."""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from kickbake.build import BuildOptions, build_images, locked_set
from kickbake.build.aptsources import host_apt_sources, host_mirror
from kickbake.build.payload import build_record, write_payload
from kickbake.build.spec import BuildSpec, MirrorSource, build_spec, image_named
from kickbake.commands import render_site
from kickbake.elements import builder_packages
from kickbake.errors import BadInput, KickbakeError
from kickbake.model import SitePlan, load_site, plan
from kickbake.model.catalog import load_releases
from kickbake.record.lock import image_requests
from tests.conftest import ROOT, SITES

NO_LOCK = ROOT / "tests" / "no-such.lock"  # the committed sites have no lock: keep it so here


def payload_record(site_plan: SitePlan, spec: BuildSpec, nodes: Path, payload: Path) -> dict[str, Any]:
    record = build_record(site_plan, spec, nodes, "digest")
    write_payload(site_plan, spec, nodes, payload, record)
    return record


def dry_run(site: str, image: str, layout: str = "baremetal", lock: Path = NO_LOCK) -> str:
    [result] = build_images(plan(load_site(SITES / f"{site}.yml")), ROOT / "output",
                            BuildOptions(image, layout=layout, dry_run=True, lock_path=lock))
    return result.command


def command_and_env(text: str) -> tuple[list[str], dict[str, str]]:
    words = shlex.split(text.replace("\\\n", " "))
    env = dict(w.split("=", 1) for w in words if "=" in w and not w.startswith("-"))
    return [w for w in words if not ("=" in w and not w.startswith("-"))], env


def test_lab_legacy_dry_run_is_fedora_15_with_the_legacy_stack() -> None:
    argv, env = command_and_env(dry_run("lab-legacy", "storage-node"))
    assert argv == ["disk-image-create", "-a", "amd64", "-t", "qcow2", "-o", "storage-node", "--checksum",
                    "fedora", "kickbake-base", "kickbake-firstboot", "kickbake-record", "clvm-legacy", "drbd",
                    "openstack-compute", "baremetal"]
    assert env["DIB_RELEASE"] == "15"
    assert env["ELEMENTS_PATH"] == str(ROOT / "elements")
    assert env["KICKBAKE_PAYLOAD"].endswith("output/lab-legacy/images/.storage-node.payload")
    assert "DIB_DISTRIBUTION_MIRROR" not in env  # rpm repos go into the image's yum.repos.d


def test_lab_el9_dry_run_is_centos_9_stream_with_pacemaker() -> None:
    argv, env = command_and_env(dry_run("lab-el9", "storage-node", layout="vm"))
    roles = ["drbd", "ha-cluster", "openstack-compute"]
    assert argv[-8:] == ["centos", "kickbake-base", "kickbake-firstboot", "kickbake-record", *roles, "vm"]
    assert env["DIB_RELEASE"] == "9-stream"
    assert env["DIB_IMAGE_SIZE"] == "4"
    argv, _ = command_and_env(dry_run("lab-el9", "controller"))
    assert argv[-5:] == ["kickbake-base", "kickbake-firstboot", "kickbake-record", "openstack-controller",
                         "baremetal"]


def test_lab_debian_mirror_comes_from_the_host_apt_sources_at_run_time() -> None:
    if not any(s.suite == "bookworm" for s in host_apt_sources()):
        pytest.skip("this host's apt has no bookworm source")
    argv, env = command_and_env(dry_run("lab-debian", "storage-node"))
    mirror, sources = host_mirror("bookworm")
    assert env["DIB_DISTRIBUTION_MIRROR"] == mirror
    assert env["DIB_APT_SOURCES_CONF"].splitlines()[0] == f"default:deb {mirror} bookworm main"
    assert len(env["DIB_APT_SOURCES_CONF"].splitlines()) == len(sources)
    assert argv[-8:] == ["kickbake-base", "kickbake-firstboot", "kickbake-record", "kickbake-netinstall", "drbd",
                         "ha-cluster", "openstack-compute", "baremetal"]
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
    assert spec.elements == ("centos", "kickbake-base", "kickbake-firstboot", "kickbake-record", "baremetal")
    assert spec.baked_nodes == ("drbd-node1", "drbd-node2")
    full = build_spec(site_plan, image.model_copy(update={"bake": "full"}), layout="baremetal")
    assert full.baked_nodes == tuple(n.hostname for n in site_plan.nodes)


def test_unknown_image_and_type_are_refused() -> None:
    site_plan = plan(load_site(SITES / "lab-debian.yml"))
    with pytest.raises(BadInput, match="image 'nope' is not defined"):
        image_named(site_plan, "nope")
    with pytest.raises(BadInput, match="unknown image type"):
        build_spec(site_plan, site_plan.site.images[0], ("vmdk",), layout="baremetal")


def write_lock(path: Path, site: str, image: str, requested: list[str], base: list[str] | None = None,
               bootstrap: str = "minbase") -> None:
    """A lock as ./kb lock writes it (format, requested set, builder base, resolved packages): two
    packages. The base defaults to debian-12's."""
    if base is None:
        base = list(builder_packages(load_releases()["debian-12"]))
    packages = [
        {"name": "drbd-utils", "epoch": None, "version": "9.22.0", "release": "1", "arch": "amd64", "repo": "debian-12",
         "checksum": "sha256:" + "a" * 64, "location": "pool/main/d/drbd-utils/drbd-utils_9.22.0-1_amd64.deb"},
        {"name": "libc6", "epoch": None, "version": "2.36", "release": "9+deb12u10", "arch": "amd64",
         "repo": "debian-12", "checksum": "sha256:" + "b" * 64, "location": "pool/main/g/glibc/libc6.deb"},
    ]
    lock = {"format": "kickbake-lock/1", "site": site, "images": {image: {
        "kind": "deb", "arch": "amd64", "release": "debian-12", "repos": {"debian-12": "host-mirror:"},
        "requested": requested, "base": base, "bootstrap": bootstrap, "packages": packages}}}
    path.write_text(json.dumps(lock))


def test_a_locked_build_adds_kickbake_lock_and_hands_it_the_pins(tmp_path: Path) -> None:
    site_plan = plan(load_site(SITES / "lab-debian.yml"))
    [request] = [r for r in image_requests(site_plan) if r.image == "storage-node"]
    lock = tmp_path / "lab-debian.lock"
    write_lock(lock, "lab-debian", "storage-node", sorted(request.packages))
    [image] = image_named(site_plan, "storage-node")
    locked = locked_set(site_plan, "storage-node", lock)
    assert locked is not None and locked.pins == ("drbd-utils=9.22.0-1", "libc6=2.36-9+deb12u10")
    spec = build_spec(site_plan, image, layout="baremetal", payload=tmp_path / ".storage-node.payload", lock=locked)
    assert spec.elements[1:6] == ("kickbake-base", "kickbake-firstboot", "kickbake-record", "kickbake-netinstall",
                                  "kickbake-lock")
    assert spec.env["KICKBAKE_PACKAGE_DB"] == str(tmp_path / ".storage-node.packagedb")
    render = tmp_path / "out"
    render_site(SITES / "lab-debian.yml", render)
    record = payload_record(site_plan, spec, render / "lab-debian" / "nodes", tmp_path / "payload")
    assert (tmp_path / "payload" / "lock" / "pins").read_text() == "drbd-utils=9.22.0-1\nlibc6=2.36-9+deb12u10\n"
    assert (tmp_path / "payload" / "lock" / "kind").read_text() == "deb\n"
    assert record["lock_sha256"] == hashlib.sha256(lock.read_bytes()).hexdigest()
    assert record["package_source"] == "repos"
    unlocked = payload_record(site_plan, build_spec(site_plan, image, layout="baremetal"),
                              render / "lab-debian" / "nodes", tmp_path / "payload")
    assert unlocked["lock_sha256"] is None and not (tmp_path / "payload" / "lock").exists()
    assert unlocked["image_id"] != record["image_id"]  # the lock is part of what made the image


def test_a_stale_lock_is_refused_with_the_command_that_fixes_it(tmp_path: Path) -> None:
    site_plan = plan(load_site(SITES / "lab-debian.yml"))
    lock = tmp_path / "lab-debian.lock"
    write_lock(lock, "lab-debian", "storage-node", ["drbd-utils"])  # the site asks for more since
    with pytest.raises(BadInput, match=r"lock of image storage-node is stale") as caught:
        locked_set(site_plan, "storage-node", lock)
    assert str(caught.value) == (f"{lock}: images.storage-node.requested: the lock of image storage-node is stale: "
                                 "the site (or its release's image builder base) asks for another package set "
                                 "(hint: re-lock: ./kb lock --site lab-debian)")
    assert locked_set(site_plan, "storage-node", tmp_path / "absent.lock") is None


def test_a_lock_made_before_the_builder_base_was_pinned_is_stale(tmp_path: Path) -> None:
    """Same site packages, but the release's image-builder base (or bootstrap) changed since."""
    site_plan = plan(load_site(SITES / "lab-debian.yml"))
    [request] = [r for r in image_requests(site_plan) if r.image == "storage-node"]
    lock = tmp_path / "lab-debian.lock"
    write_lock(lock, "lab-debian", "storage-node", list(request.packages), base=[], bootstrap="")
    with pytest.raises(BadInput, match=r"lock of image storage-node is stale"):
        locked_set(site_plan, "storage-node", lock)
    write_lock(lock, "lab-debian", "storage-node", list(request.packages))
    assert locked_set(site_plan, "storage-node", lock) is not None


def test_a_build_from_the_mirror_reaches_only_the_snapshot(tmp_path: Path) -> None:
    site_plan = plan(load_site(SITES / "lab-debian.yml"))
    [image] = image_named(site_plan, "storage-node")
    keyring = tmp_path / "kickbake-mirror.gpg"
    mirror = MirrorSource("http://127.0.0.1:4321/lab-debian/repos/debian-12/", "bookworm", keyring)
    env = build_spec(site_plan, image, layout="baremetal", mirror=mirror).env
    assert env["DIB_DISTRIBUTION_MIRROR"] == mirror.url
    assert env["DIB_APT_SOURCES_CONF"] == f"default:deb {mirror.url} bookworm main"  # one source, no host suites
    assert env["DIB_DEBOOTSTRAP_EXTRA_ARGS"] == f"--keyring={keyring}"
    assert env["DIB_DEBOOTSTRAP_CACHE"] == "0" and "DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE" not in env
    assert "DIB_APT_KEYRING" not in env  # debian-minimal would `apt-key add` it in a chroot without gnupg
    host_uri, _ = host_mirror("bookworm")
    assert not [k for k, v in env.items() if host_uri in v]
    assert "KICKBAKE_NODE_MIRROR" not in env  # no node URL given: the image keeps no source

    node_url = "http://192.168.122.1/lab-debian/repos/debian-12/"
    lock = tmp_path / "lab-debian.lock"
    [request] = [r for r in image_requests(site_plan) if r.image == "storage-node"]
    write_lock(lock, "lab-debian", "storage-node", list(request.packages))
    spec = build_spec(site_plan, image, layout="baremetal", lock=locked_set(site_plan, "storage-node", lock),
                      mirror=MirrorSource(mirror.url, "bookworm", keyring, node_url))
    render = tmp_path / "out"
    render_site(SITES / "lab-debian.yml", render)
    record = payload_record(site_plan, spec, render / "lab-debian" / "nodes", tmp_path / "payload")
    assert (tmp_path / "payload" / "lock" / "build-mirror").read_text() == mirror.url + "\n"
    assert (tmp_path / "payload" / "lock" / "node-mirror").read_text() == node_url + "\n"
    assert record["package_source"] == "mirror"

    el9 = plan(load_site(SITES / "lab-el9.yml"))
    with pytest.raises(KickbakeError, match="--from-mirror builds Debian images only"):
        build_spec(el9, image_named(el9, "storage-node")[0], mirror=mirror)
    with pytest.raises(KickbakeError, match="--from-mirror builds Debian images only"):  # said before the lock
        build_images(el9, tmp_path, BuildOptions("storage-node", dry_run=True, lock_path=tmp_path / "none.lock",
                                                 from_mirror=True))


def test_a_build_from_the_mirror_needs_the_lock_and_its_snapshot(tmp_path: Path) -> None:
    site_plan = plan(load_site(SITES / "lab-debian.yml"))
    with pytest.raises(KickbakeError, match=r"a build from the mirror needs the site's lock") as caught:
        build_images(site_plan, tmp_path, BuildOptions("storage-node", dry_run=True, lock_path=tmp_path / "none.lock",
                                                       from_mirror=True))
    assert caught.value.hint == "./kb lock --site lab-debian, then ./kb mirror --site lab-debian"
    [request] = [r for r in image_requests(site_plan) if r.image == "storage-node"]
    lock = tmp_path / "lab-debian.lock"
    write_lock(lock, "lab-debian", "storage-node", list(request.packages))
    with pytest.raises(KickbakeError, match=r"the mirror in .*/repos lacks 2 locked packages") as caught:
        build_images(site_plan, tmp_path, BuildOptions("storage-node", dry_run=True, lock_path=lock, from_mirror=True))
    assert caught.value.hint == "snapshot the lock first: ./kb mirror --site lab-debian"
