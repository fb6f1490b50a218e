"""The kickstart install path: UEFI-capable layouts per release, the last %post that fetches the
node's install bundle, the bundle itself, secrets that stay unpublished, and netboot state."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from kickbake import commands
from kickbake.installs import netboot
from kickbake.model import load_site, plan
from kickbake.render.kickstart import render_kickstart
from kickbake.validate.kickstart import validate_kickstart
from tests.bundles import seed_secrets
from tests.conftest import BUNDLED, ROOT, SITES

NODE = "drbd-node1"  # storage: root disk vda, DRBD backing disk vdb
DATA_DISK = "vdb"
ROOT_DISK = "vda"

# release -> (base site, repos, pykickstart handler, python, reqpart, root fstype)
RELEASES: dict[str, tuple[str, str, str, str, bool, str]] = {
    "fedora-15": ("lab-legacy", "[fedora-15, fedora-15-updates, openstack-f15]", "F15", "/usr/bin/python", False,
                  "ext4"),
    "fedora-16": ("lab-legacy", "[fedora-16, fedora-16-updates]", "F16", "/usr/bin/python", False, "ext4"),
    "fedora-43": ("lab-el9", "[fedora-43, fedora-43-updates]", "F43", "/usr/bin/python3", True, "ext4"),
    "el9": ("lab-el9", "[el9-baseos, el9-appstream, el9-crb, el9-highavailability, el9-resilientstorage, "
                       "elrepo-el9, rdo-epoxy-el9]", "RHEL9", "/usr/bin/python3", True, "xfs"),
    "el10": ("lab-el9", "[el10-baseos, el10-appstream, el10-crb, el10-highavailability, elrepo-el10, "
                        "rdo-epoxy-el10]", "RHEL10", "/usr/bin/python3", True, "xfs"),
}
SHIPPED = sorted(RELEASES)

PXE_MAC = {"controller": "01-52-54-00-00-01-20", "drbd-node1": "01-52-54-00-00-01-21",
           "drbd-node2": "01-52-54-00-00-01-22"}  # lab-el9's mgmt MACs, as pxelinux/GRUB name them
PUBLISHED = ("kickstarts", "pxe", "images", "repos")


def site_text(release: str, lint_clean: bool) -> str:
    """A bundled lab moved to `release`; `lint_clean` also drops what the release cannot run."""
    base, repos = RELEASES[release][:2]
    text = (SITES / f"{base}.yml").read_text()
    text = re.sub(r"^site: .*$", f"site: rel-{release}", text, count=1, flags=re.M)
    text = re.sub(r"^release: .*$", f"release: {release}", text, count=1, flags=re.M)
    text = re.sub(r"^repos: .*$", f"repos: {repos}", text, count=1, flags=re.M)
    if lint_clean and release == "fedora-43":  # Fedora ships no Nova (REL001)
        text = text.replace("  controller:\n    openstack: controller\n", "  controller: {}\n")
        text = text.replace("  storage:\n    openstack: compute\n", "  storage: {}\n")
        text = re.sub(r"^openstack:\n  instances_path: .*\n", "", text, flags=re.M)
    if lint_clean and release == "el10":  # no dlm on EL10 (LVM008), so no dual-primary shared VG (LVM010)
        text = text.replace("    dual_primary: true\n", "    dual_primary: false\n")
        text = text.replace("    shared: true\n", "    shared: false\n")
        # nor GFS2 (gone from RHEL 10: FS001/FS002): Nova's instances stay on the local disk
        text = text.replace(", filesystem: {type: gfs2, mount: /var/lib/nova/instances, owner: nova}", "")
    assert f"release: {release}\n" in text
    return text


def write_site(directory: Path, release: str, lint_clean: bool) -> Path:
    path = directory / f"rel-{release}.yml"
    path.write_text(site_text(release, lint_clean))
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """release -> its rendered (current) generation, every shipped kickstart release."""
    directory = tmp_path_factory.mktemp("releases")
    generations = {}
    for release in SHIPPED:
        result = commands.render_site(write_site(directory, release, lint_clean=True), directory / "output")
        generations[release] = Path(result.output).resolve()
    return generations


def command_lines(text: str, *commands: str) -> list[str]:
    return [line for line in text.splitlines() if line.split(" ", 1)[0] in commands]


def parts(text: str) -> dict[str, dict[str, str]]:
    """mount point -> options of every `part` line."""
    found: dict[str, dict[str, str]] = {}
    for line in command_lines(text, "part"):
        words = line.split()
        assert words[1] not in found, f"two part lines for {words[1]}"
        found[words[1]] = dict(w[2:].partition("=")[::2] for w in words[2:])
    return found


def assert_uefi_layout(text: str, release: str) -> None:
    reqpart, fstype = RELEASES[release][4], RELEASES[release][5]
    layout = parts(text)
    if reqpart:
        assert command_lines(text, "reqpart") == ["reqpart"]
        assert "/boot/efi" not in layout and "biosboot" not in layout
    else:  # anaconda before reqpart: the ESP and the BIOS-on-GPT partition by hand
        assert command_lines(text, "reqpart") == []
        assert layout["biosboot"]["fstype"] == "biosboot"
        assert layout["/boot/efi"]["fstype"] == "vfat"
    assert layout["/boot"]["fstype"] == fstype
    assert layout["/"]["fstype"] == fstype and "grow" in layout["/"]
    assert {options["ondisk"] for options in layout.values()} == {ROOT_DISK}
    assert command_lines(text, "ignoredisk") == [f"ignoredisk --only-use={ROOT_DISK}"]
    assert command_lines(text, "clearpart") == [f"clearpart --all --initlabel --drives={ROOT_DISK}"]
    for line in command_lines(text, "clearpart", "ignoredisk", "part", "reqpart"):
        assert DATA_DISK not in line, line


@pytest.mark.parametrize("release", SHIPPED)
def test_every_kickstart_release_partitions_for_uefi_and_spares_the_data_disk(release: str, tmp_path: Path) -> None:
    """Straight from the model (no lint: the plain release swap may not lint clean)."""
    site_plan = plan(load_site(write_site(tmp_path, release, lint_clean=False)))
    node = site_plan.node(NODE)
    assert node.release.name == release and node.keep_disks == (DATA_DISK,) and node.root_disk == ROOT_DISK
    assert node.release.kickstart is not None and node.release.kickstart.handler == RELEASES[release][2]
    assert node.release.kickstart.partitioning.reqpart is RELEASES[release][4]
    text = render_kickstart(site_plan, node, "0" * 64)
    assert validate_kickstart(text, RELEASES[release][2]) == []
    assert_uefi_layout(text, release)


COMPUTE_NODE = """  - hostname: compute1
    roles: [compute]
    interfaces:
      - {name: eth0, mac: "52:54:00:00:01:30", network: mgmt, address: 192.168.122.13}
    disks:
      - {name: vda, use: root, size_gib: 20}
"""
# node kind -> (a node of that kind, the features that make it that kind, features it must not have)
NODE_KINDS = {
    "storage": ("drbd-node1", {"drbd"}, {"openstack-compute", "openstack-controller"}),
    "compute": ("compute1", {"openstack-compute"}, {"drbd"}),
    "controller": ("controller", {"openstack-controller"}, {"drbd", "openstack-compute"}),
}


def three_kind_site(directory: Path, release: str) -> Path:
    """The lab on `release` with storage, compute and controller on separate nodes: the storage
    role keeps DRBD, the cluster and the shared VG but no Nova, a new compute1 runs nova-compute."""
    text = site_text(release, lint_clean=False)
    roles = "  storage:\n    openstack: compute\n"
    assert roles in text and "\nclusters:\n" in text
    text = text.replace(roles, "  storage: {}\n  compute:\n    openstack: compute\n")
    text = text.replace("\nclusters:\n", f"{COMPUTE_NODE}\nclusters:\n", 1)
    path = directory / f"kinds-{release}.yml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("kind", sorted(NODE_KINDS))
@pytest.mark.parametrize("release", SHIPPED)
def test_every_node_kind_renders_a_valid_kickstart_on_every_release(release: str, kind: str, tmp_path: Path) -> None:
    """Straight from the model (no lint: Fedora 43 has no Nova, yet its kickstarts must parse)."""
    site_plan = plan(load_site(three_kind_site(tmp_path, release)))
    hostname, has, lacks = NODE_KINDS[kind]
    node = site_plan.node(hostname)
    assert node.release.name == release
    assert has <= set(node.features) and not lacks & set(node.features), node.features
    text = render_kickstart(site_plan, node, "0" * 64)
    assert validate_kickstart(text, RELEASES[release][2]) == []
    assert command_lines(text, "ignoredisk") == [f"ignoredisk --only-use={ROOT_DISK}"]


@pytest.mark.parametrize("release", SHIPPED)
def test_every_rendered_kickstart_of_every_release_passes_pykickstart(release: str, rendered: dict[str, Path]) -> None:
    """Every node of the lint-clean site, with its install %post, through the release's handler."""
    kickstarts = sorted((rendered[release] / "kickstarts").glob("*.ks"))
    assert [k.stem for k in kickstarts] == ["controller", "drbd-node1", "drbd-node2"]
    for path in kickstarts:
        assert validate_kickstart(path.read_text(), RELEASES[release][2]) == [], path.name


def last_post(text: str) -> tuple[str, str]:
    """(the last %post line, its body up to its %end)."""
    lines = text.splitlines(keepends=True)
    start = max(i for i, line in enumerate(lines) if line.startswith("%post"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].rstrip("\n") == "%end")
    assert "".join(lines[end + 1:]).strip() == "", "something follows the install %post"
    return lines[start].rstrip("\n"), "".join(lines[start + 1:end])


@pytest.mark.parametrize("release", SHIPPED)
def test_the_last_post_installs_the_bundle_with_its_sha256(release: str, rendered: dict[str, Path]) -> None:
    generation = rendered[release]
    text = (generation / "kickstarts" / f"{NODE}.ks").read_text()
    assert validate_kickstart(text, RELEASES[release][2]) == []
    assert_uefi_layout(text, release)
    header, script = last_post(text)
    options = header.split()
    assert options[0] == "%post" and "--erroronfail" in options
    assert f"--interpreter={RELEASES[release][3]}" in options
    install = generation / "secrets" / "install"
    assert script == (install / f"{NODE}.py").read_text()  # the same script, for other install paths
    bundle_sha256 = hashlib.sha256((install / f"{NODE}.tar").read_bytes()).hexdigest()
    assert f'    "bundle_sha256": "{bundle_sha256}",\n' in script
    token = (install / f"{NODE}.token").read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", token) and f'    "token": "{token}",\n' in script
    assert f'    "bundle_url": "http://192.168.122.1/rel-{release}/install/{NODE}.tar",\n' in script
    assert script.endswith("sys.exit(main(CONFIG))\n")
    starting = [line for line in script.splitlines() if line.lstrip().startswith("%")]
    assert starting == [], "anaconda would read these as section lines"
    compile(script, f"{NODE}.py", "exec")  # the host's python 3 reads it too


def tar_members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {member.name: member for member in tar.getmembers()}


def tar_file(data: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        handle = tar.extractfile(name)
        assert handle is not None, name
        return handle.read()


@pytest.mark.parametrize("release", SHIPPED)
def test_the_bundle_carries_agent_unit_and_only_its_own_node(release: str, rendered: dict[str, Path]) -> None:
    generation = rendered[release]
    data = (generation / "secrets" / "install" / f"{NODE}.tar").read_bytes()
    members = tar_members(data)
    agent = members["usr/lib/kickbake/kickbake-firstboot"]
    assert agent.isfile() and agent.mode == 0o755
    assert tar_file(data, agent.name).split(b"\n", 1)[0] == f"#!{RELEASES[release][3]}".encode()
    wants = members["etc/systemd/system/multi-user.target.wants/kickbake-firstboot.service"]
    assert wants.issym() and wants.linkname == "/etc/systemd/system/kickbake-firstboot.service"
    assert members["etc/systemd/system/kickbake-firstboot.service"].isfile()
    site_root = "usr/share/kickbake/site"
    own = f"{site_root}/nodes/{NODE}"
    node_dir = generation / "nodes" / NODE
    assert tar_file(data, f"{own}/node.json") == (node_dir / "node.json").read_bytes()
    below = {name: m for name, m in members.items() if name == site_root or name.startswith(f"{site_root}/")}
    strays = [n for n in below if n not in (site_root, f"{site_root}/nodes", own) and not n.startswith(f"{own}/")]
    assert strays == [], "another node's bundle in the tar"
    loose = [f"{n} {m.mode:o}" for n, m in below.items() if m.mode & 0o077]
    assert loose == [], "group/other may read the node's keys"
    packed = {n[len(own) + 1:]: tar_file(data, n) for n, m in below.items() if m.isfile()}
    assert packed == {str(p.relative_to(node_dir)): p.read_bytes() for p in node_dir.rglob("*") if p.is_file()}
    assert all(m.uid == 0 and m.gid == 0 and m.mtime == 0 for m in members.values())
    record = json.loads(tar_file(data, "etc/kickbake/install.json"))
    assert (record["node"], record["release"], record["installed_by"]) == (NODE, release, "kickstart")


@pytest.mark.parametrize("site", BUNDLED[:2], ids=[p.stem for p in BUNDLED[:2]])
def test_the_bundle_has_the_same_bytes_every_time(site: Path, tmp_path: Path) -> None:
    bundles = []
    for name in ("a", "b"):
        seed_secrets(tmp_path / name, site.stem)
        commands.render_site(site, tmp_path / name)
        bundles.append((tmp_path / name / site.stem / "secrets" / "install" / f"{NODE}.tar").read_bytes())
    commands.render_site(site, tmp_path / "b")  # a second generation over the first
    bundles.append((tmp_path / "b" / site.stem / "secrets" / "install" / f"{NODE}.tar").read_bytes())
    assert bundles[0] == bundles[1] == bundles[2]
    kickstart = (tmp_path / "b" / site.stem / "kickstarts" / f"{NODE}.ks").read_text()
    assert hashlib.sha256(bundles[2]).hexdigest() in kickstart


def live_site(tmp_path: Path) -> Path:
    """lab-el9 with its images baked as tar (and the storage image built): liveimg kickstarts."""
    text = (SITES / "lab-el9.yml").read_text().replace("site: lab-el9", "site: lab-live")
    path = tmp_path / "lab-live.yml"
    path.write_text(text.replace("    types: [qcow2]\n", "    types: [qcow2, tar]\n"))
    return path


def files_below(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_no_secret_is_published_and_each_token_is_only_in_its_own_kickstart(tmp_path: Path) -> None:
    out_root = tmp_path / "output"
    live = live_site(tmp_path)
    commands.render_site(live, out_root)
    image = out_root / "lab-live" / "images" / "storage-node.tar"
    image.parent.mkdir()
    image.write_bytes(b"a built image tar stands here\n" * 64)
    sites = [*BUNDLED, live]
    for site in sites:
        commands.render_site(site, out_root)  # random secrets, as a real first render makes them
    assert (out_root / "lab-live" / "kickstarts" / f"{NODE}-liveimg.ks").is_file()
    checked_secrets = checked_tokens = 0
    for site in sites:
        generation = (out_root / site.stem).resolve()
        published = {f"{d}/{name}": data for d in PUBLISHED if (generation / d).is_dir()
                     for name, data in files_below(generation / d).items()}
        everything = files_below(generation)
        assert published and all(everything[name] == data for name, data in published.items())
        for name, data in files_below(generation / "secrets").items():
            if name.startswith("install/") and name.endswith((".token", ".py", ".tar")):
                continue
            assert len(data.strip()) >= 16, name
            leaks = [where for where, content in published.items() if data.strip() in content]
            assert leaks == [], f"secrets/{name} is published in {leaks}"
            checked_secrets += 1
        for token_file in sorted((generation / "secrets" / "install").glob("*.token")):
            node, token = token_file.stem, token_file.read_bytes().strip()
            assert re.fullmatch(rb"[0-9a-f]{64}", token)
            own = {f"kickstarts/{node}.ks", f"kickstarts/{node}-liveimg.ks"} & set(everything)
            where = {name for name, content in everything.items() if token in content}
            assert where == own | {f"secrets/install/{node}.token", f"secrets/install/{node}.py"}, (site.stem, node)
            checked_tokens += 1
        if site.stem == "lab-debian":
            assert not (generation / "kickstarts").exists()  # its tokens are in its install scripts only
    # the cloud's passwords (9 on each Zed/Epoxy lab: lab-debian, lab-el9, lab-live; 6 on the Diablo
    # one) and the DRBD r0 shared secret per site, an authkey per current-stack cluster (all but lab-legacy)
    assert checked_secrets == 9 * 3 + 6 + 4 + 3
    assert checked_tokens == 4 * 3


def netboot_cli(out_root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KICKBAKE_OUTPUT": str(out_root), "KICKBAKE_ROOT": str(ROOT)}
    return subprocess.run([sys.executable, "-c", "from kickbake.cli import main; main()", "netboot",
                           "--site", str(SITES / "lab-el9.yml"), *args],
                          env=env, capture_output=True, text=True, timeout=120)


def pxe_entries(generation: Path, node: str) -> tuple[str, str, str]:
    pxe = generation / "pxe"
    return ((pxe / "pxelinux.cfg" / PXE_MAC[node]).read_text(),
            (pxe / "grub" / f"grub.cfg-{PXE_MAC[node]}").read_text(),
            (pxe / "ipxe" / f"{node}.ipxe").read_text())


def first_words(text: str) -> set[str]:
    return {line.split()[0] for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")}


def assert_boots_local(generation: Path, node: str) -> None:
    pxelinux, grub, ipxe = pxe_entries(generation, node)
    assert "LOCALBOOT 0" in {line.strip() for line in pxelinux.splitlines()} and "KERNEL" not in first_words(pxelinux)
    assert "exit" in first_words(grub) and "linux" not in first_words(grub)
    assert "exit" in first_words(ipxe) and "kernel" not in first_words(ipxe)


def assert_installs(generation: Path, node: str) -> None:
    pxelinux, grub, ipxe = pxe_entries(generation, node)
    kickstart = f"inst.ks=http://192.168.122.1/lab-el9/kickstarts/{node}.ks"
    assert "KERNEL" in first_words(pxelinux) and "LOCALBOOT" not in first_words(pxelinux) and kickstart in pxelinux
    assert "linux" in first_words(grub) and "exit" not in first_words(grub) and kickstart in grub
    assert "kernel" in first_words(ipxe) and "exit" not in first_words(ipxe) and kickstart in ipxe


def test_netboot_state_switches_entries_and_tokens_and_survives_renders(out_root: Path) -> None:
    site = SITES / "lab-el9.yml"
    install = out_root / "lab-el9" / "secrets" / "install"
    commands.render_site(site, out_root)
    old_token = (install / f"{NODE}.token").read_text().strip()
    others = {n: (install / f"{n}.token").read_bytes() for n in ("controller", "drbd-node2")}
    assert_installs(out_root / "lab-el9", NODE)

    result = commands.render_site(site, out_root, netboot={NODE: "local"})
    states = {"controller": "install", NODE: "local", "drbd-node2": "install"}
    assert {n.node: n.netboot for n in result.nodes} == states
    assert_boots_local(out_root / "lab-el9", NODE)
    assert not (install / f"{NODE}.token").exists()
    assert {n: (install / f"{n}.token").read_bytes() for n in others} == others
    assert old_token not in (out_root / "lab-el9" / "kickstarts" / f"{NODE}.ks").read_text()
    assert_installs(out_root / "lab-el9", "drbd-node2")

    commands.render_site(site, out_root)  # no change asked: the state is carried over
    assert json.loads((out_root / "lab-el9" / "state" / "netboot.json").read_text())[NODE] == "local"
    assert_boots_local(out_root / "lab-el9", NODE)
    assert not (install / f"{NODE}.token").exists()

    proc = netboot_cli(out_root, "--json")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["site"] == "lab-el9"
    assert shown["nodes"] == states

    records = out_root / "lab-el9" / "records"
    records.mkdir(exist_ok=True)
    (records / f"{NODE}.manifest.json").write_text('{"previous": true}\n')
    answer = netboot(site, NODE, "install", out_root)
    assert answer["nodes"] == {NODE: "install"}
    assert answer["archived"] == [f"records/history/{NODE}.1.manifest.json"]
    assert not (records / f"{NODE}.manifest.json").exists()
    assert (records / "history" / f"{NODE}.1.manifest.json").read_text() == '{"previous": true}\n'
    new_token = (install / f"{NODE}.token").read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", new_token) and new_token != old_token
    assert f'"token": "{new_token}"' in (out_root / "lab-el9" / "kickstarts" / f"{NODE}.ks").read_text()
    assert_installs(out_root / "lab-el9", NODE)
    assert {n: (install / f"{n}.token").read_bytes() for n in others} == others


def test_netboot_refuses_an_unknown_node(out_root: Path) -> None:
    commands.render_site(SITES / "lab-el9.yml", out_root)
    before = (out_root / "lab-el9").resolve()
    proc = netboot_cli(out_root, "--node", "no-such-node", "--local")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no-such-node" in proc.stderr + proc.stdout
    assert (out_root / "lab-el9").resolve() == before  # nothing rendered
