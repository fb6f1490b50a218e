"""Node bundles: per-stack content, identical shared files, same bytes twice, secrets."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kickbake import commands
from kickbake.errors import BadInput
from kickbake.model import load_site, plan
from kickbake.model.clusterview import cluster_views, cman_multicast, drbd_minor, lvm_filters
from kickbake.render.openstack_steps import openstack_steps
from tests.bundles import TEST_SECRETS, render, tree
from tests.conftest import BUNDLED, ROOT, SITES

SHARED = {
    "lab-legacy": [
        "etc/cluster/cluster.conf",
        "etc/drbd.d/r0.res",
        "etc/drbd.d/global_common.conf",
    ],
    "lab-el9": [
        "etc/corosync/corosync.conf",
        "etc/corosync/authkey",
        "etc/kickbake/cib.xml",
        "etc/drbd.d/r0.res",
        "etc/drbd.d/global_common.conf",
    ],
    "lab-debian": [
        "etc/corosync/corosync.conf",
        "etc/corosync/authkey",
        "etc/kickbake/cib.xml",
        "etc/drbd.d/r0.res",
        "etc/drbd.d/global_common.conf",
        "etc/dlm/dlm.conf",
    ],
}


def node_json(site_out: Path, node: str) -> dict:
    return json.loads((site_out / "nodes" / node / "node.json").read_text())


def step_ids(site_out: Path, node: str) -> list[str]:
    return [s["id"] for s in node_json(site_out, node)["steps"]]


@pytest.mark.parametrize("site", BUNDLED, ids=lambda p: p.stem)
def test_shared_files_are_byte_identical_on_every_member(site: Path, out_root: Path) -> None:
    out = render(site, out_root, seeded=False)
    for relative in SHARED[site.stem]:
        one = (out / "nodes/drbd-node1" / relative).read_bytes()
        two = (out / "nodes/drbd-node2" / relative).read_bytes()
        assert one == two, relative


@pytest.mark.parametrize("site", BUNDLED, ids=lambda p: p.stem)
def test_node_json_lists_exactly_the_overlay(site: Path, out_root: Path) -> None:
    out = render(site, out_root)
    for node_dir in sorted((out / "nodes").iterdir()):
        listed = {f["source"] for f in node_json(out, node_dir.name)["files"]}
        on_disk = {str(p.relative_to(node_dir)) for p in node_dir.rglob("*") if p.is_file()} - {"node.json"}
        assert listed == on_disk
        for entry in node_json(out, node_dir.name)["files"]:
            mode = stat.S_IMODE((node_dir / entry["source"]).stat().st_mode)
            assert mode == (0o600 if entry["secret"] else 0o644), entry["path"]


def test_legacy_bundle_is_cman_clvmd_drbd83(out_root: Path) -> None:
    out = render(SITES / "lab-legacy.yml", out_root)
    node = out / "nodes/drbd-node1/etc"
    assert not (node / "corosync").exists()  # cman ignores corosync.conf: none is written
    conf = (node / "cluster/cluster.conf").read_text()
    assert '<cman two_node="1" expected_votes="1" port="5405">' in conf
    assert '<multicast addr="239.192.51.140"/>' in conf
    assert "locking_type = 3" in (node / "lvm/lvm.conf").read_text()
    res = (node / "drbd.d/r0.res").read_text()
    assert "    protocol C;\n" in res and "allow-two-primaries;" in res and "become-primary-on both;" in res
    assert "vg-create-shared:vg_shared" in step_ids(out, "drbd-node1")
    assert "vg-lock-start:vg_shared" not in step_ids(out, "drbd-node2")  # clvmd has no lockspace
    create = next(s for s in node_json(out, "drbd-node1")["steps"] if s["action"] == "vg-create-shared")
    assert create["args"]["lock_type"] == "clvm" and create["once"]


def test_el9_bundle_is_drbd9_with_devices_file(out_root: Path) -> None:
    out = render(SITES / "lab-el9.yml", out_root)
    res = (out / "nodes/drbd-node1/etc/drbd.d/r0.res").read_text()
    assert 'on "drbd-node1" {\n        node-id 0;' in res and 'on "drbd-node2" {\n        node-id 1;' in res
    assert "connection {" in res and "become-primary-on" not in res
    assert "use_devicesfile = 1" in (out / "nodes/drbd-node1/etc/lvm/lvm.conf").read_text()
    for node, vg_step in (
        ("drbd-node1", "vg-create-shared:vg_shared"),
        ("drbd-node2", "vg-lock-start:vg_shared"),
    ):
        ids = step_ids(out, node)
        assert ids.index("drbd-primary:r0") < ids.index("lvm-add-device:/dev/drbd0") < ids.index(vg_step)


def test_debian_lab_comes_up_without_pacemaker(out_root: Path) -> None:
    out = render(SITES / "lab-debian.yml", out_root)
    etc = out / "nodes/drbd-node1/etc"
    assert (etc / "dlm/dlm.conf").read_text().splitlines()[-1] == "enable_fencing=0"
    assert "allow-two-primaries yes;" in (etc / "drbd.d/r0.res").read_text()
    corosync = (etc / "corosync/corosync.conf").read_text()
    assert "two_node: 1" in corosync and "crypto_cipher: aes256" in corosync and "transport: knet" in corosync
    assert "use_lvmlockd = 1" in (etc / "lvm/lvm.conf").read_text()
    first, second = step_ids(out, "drbd-node1"), step_ids(out, "drbd-node2")
    assert first[-6:] == [
        "drbd-primary:r0",
        "start-services:cluster",
        "wait-quorum",
        "enable-services:cluster",
        "vg-create-shared:vg_shared",
        "lv-create:vg_shared/lv_instances",
    ]
    assert "drbd-initial-sync:r0" in first and "drbd-initial-sync:r0" not in second
    assert (
        second[-3:] == ["wait-quorum", "enable-services:cluster", "vg-lock-start:vg_shared"]
        and "vg-create-shared:vg_shared" not in second
    )
    once = {s["id"] for s in node_json(out, "drbd-node1")["steps"] if s["once"]}
    assert once == {
        "drbd-create-md:r0",
        "drbd-initial-sync:r0",
        "vg-create-shared:vg_shared",
        "lv-create:vg_shared/lv_instances",
    }
    start = next(s for s in node_json(out, "drbd-node2")["steps"] if s["id"] == "start-services:cluster")
    assert start["args"]["services"] == ["corosync", "dlm", "lvmlockd"]
    assert "push-cib" not in first and "start-services:pacemaker" not in first  # pacemaker manages nothing


def test_cib_for_manual_fencing_disables_stonith_and_clones(out_root: Path) -> None:
    cib = (render(SITES / "lab-debian.yml", out_root) / "nodes/drbd-node1/etc/kickbake/cib.xml").read_text()
    assert 'name="stonith-enabled" value="false"' in cib
    assert 'name="promoted-max" value="2"' in cib and 'type="controld"' in cib and 'type="LVM-activate"' in cib
    assert 'name="allow_stonith_disabled" value="true"' in cib


def test_nova_conf_per_role(out_root: Path) -> None:
    out = render(SITES / "lab-debian.yml", out_root)
    controller = (out / "nodes/controller/etc/nova/nova.conf").read_text()
    compute = (out / "nodes/drbd-node1/etc/nova/nova.conf").read_text()
    assert "[database]" in controller and "[api_database]" in controller and "[database]" not in compute
    assert "my_ip = 192.168.122.11" in compute and "instances_path = /var/lib/nova/instances" in compute
    assert TEST_SECRETS["rabbitmq-nova.password"].decode() in compute


def test_derived_values() -> None:
    site_plan = plan(load_site(SITES / "lab-debian.yml"))
    (view,) = cluster_views(site_plan)
    assert [(m.name, m.nodeid, str(m.ring_addr)) for m in view.members] == [
        ("drbd-node1", 1, "10.0.0.1"),
        ("drbd-node2", 2, "10.0.0.2"),
    ]
    assert view.two_node and view.expected_votes is None  # corosync 3: two_node alone
    assert drbd_minor("/dev/drbd12") == 12
    assert str(cman_multicast("drbdclu")) == "239.192.51.140"
    lvm_filter, global_filter = lvm_filters(site_plan, "drbd-node1")
    assert lvm_filter == ("r|^/dev/vdb$|", "a|^/dev/drbd.*|", "a|^/dev/vda.*|", "r|.*|")
    assert global_filter == ("r|^/dev/vdb$|",)


def test_lvm_filter_override_is_used(tmp_path: Path, out_root: Path) -> None:
    text = (SITES / "lab-debian.yml").read_text() + '\nlvm:\n  filter: ["a|^/dev/drbd0$|", "r|.*|"]\n'
    site = tmp_path / "lab-debian.yml"
    site.write_text(text)
    out = render(site, out_root)
    assert 'filter = [ "a|^/dev/drbd0$|", "r|.*|" ]' in (out / "nodes/drbd-node2/etc/lvm/lvm.conf").read_text()


@pytest.mark.parametrize("site", BUNDLED, ids=lambda p: p.stem)
def test_secrets_are_0600_generated_once_and_kept(site: Path, out_root: Path) -> None:
    out = render(site, out_root, seeded=False)
    secrets = out / "secrets"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    before = tree(secrets)
    assert before and all(stat.S_IMODE((secrets / n).stat().st_mode) == 0o600 for n in before)
    again = Path(commands.render_site(site, out_root).output).resolve()
    assert tree(again / "secrets") == before


def test_what_later_stages_wrote_survives_a_rerender(out_root: Path) -> None:
    """Built images, ./kb mirror's snapshot and node records live in the generation; a render
    makes a new generation and must bring them along (a lost mirror went unnoticed once)."""
    site = BUNDLED[0]
    first = render(site, out_root, seeded=False)
    later = {"images/storage-node.qcow2": b"image", "repos/debian-12/dists/bookworm/InRelease": b"signed",
             "records/drbd-node1.manifest.json": b"{}"}
    for name, data in later.items():
        (first / name).parent.mkdir(parents=True, exist_ok=True)
        (first / name).write_bytes(data)
    again = Path(commands.render_site(site, out_root).output).resolve()
    assert again != first.resolve()
    assert {name: (again / name).read_bytes() for name in later} == later


def test_secrets_are_never_printed_and_never_in_git(tmp_path: Path) -> None:
    env = {**os.environ, "KICKBAKE_OUTPUT": str(tmp_path / "out"), "KICKBAKE_ROOT": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", "from kickbake.cli import main; main()", "render", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    printed = proc.stdout + proc.stderr
    secret_files = [p for site in BUNDLED for p in sorted((tmp_path / "out" / site.stem / "secrets").rglob("*"))
                    if p.is_file()]
    # the cloud's passwords (9 per Zed/Epoxy site: admin, a database per service, a Keystone user
    # per service but Keystone, RabbitMQ's nova; 6 for Diablo: no Placement, Nova has no Keystone
    # user), a corosync authkey per current cluster; per node of a site with a boot server (all three
    # labs, 9 nodes) an install bundle, its script and its token; a DRBD shared secret per resource
    assert len(secret_files) == 9 + 9 + 6 + 2 + 3 * 9 + 3
    for path in secret_files:
        data = path.read_bytes()
        assert data.hex() not in printed and data.decode(errors="replace") not in printed
    ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", "output/any-site/secrets/authkey"])
    assert ignored.returncode == 0  # output/ (and so every secret) is git-ignored
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True).stdout
    assert "secrets/" not in tracked and "authkey" not in tracked


def test_legacy_nova_conf_is_a_diablo_flag_file(out_root: Path) -> None:
    out = render(SITES / "lab-legacy.yml", out_root)
    compute = (out / "nodes/drbd-node2/etc/nova/nova.conf").read_text().splitlines()
    flags = [line for line in compute if line.startswith("--")]
    assert flags and all("=" in line for line in flags) and "[DEFAULT]" not in compute
    assert "--my_ip=192.168.122.12" in flags and "--libvirt_type=kvm" in flags
    assert f"--rabbit_password={TEST_SECRETS['rabbitmq-nova.password'].decode()}" in flags


def test_nova_images_on_lvm_when_the_inventory_says_so(tmp_path: Path, out_root: Path) -> None:
    text = (SITES / "lab-debian.yml").read_text()
    old = "openstack:\n  instances_path: /var/lib/nova/instances\n"
    assert old in text
    site = tmp_path / "lab-debian.yml"
    site.write_text(text.replace(old, old + "  images_type: lvm\n  images_volume_group: vg_shared\n"))
    out = render(site, out_root)
    compute = (out / "nodes/drbd-node1/etc/nova/nova.conf").read_text()
    assert "images_type = lvm\nimages_volume_group = vg_shared\n" in compute
    assert "images_type" not in (out / "nodes/controller/etc/nova/nova.conf").read_text()


@pytest.mark.parametrize("site", BUNDLED, ids=lambda p: p.stem)
def test_step_ids_are_unique_and_identity_comes_first(site: Path, out_root: Path) -> None:
    out = render(site, out_root)
    for node_dir in (out / "nodes").iterdir():
        steps = node_json(out, node_dir.name)["steps"]
        ids = [s["id"] for s in steps]
        assert len(ids) == len(set(ids))
        assert ids[:3] == ["set-hostname", "configure-network", "install-files"]


def test_a_device_that_is_not_drbd_n_is_a_file_line_error_and_nothing_is_written(tmp_path: Path) -> None:
    site = tmp_path / "lab-debian.yml"
    text = (SITES / "lab-debian.yml").read_text()
    site.write_text(text.replace("device: /dev/drbd0", "device: /dev/sdz"))
    out_root = tmp_path / "out"
    with pytest.raises(BadInput) as caught:
        commands.render_site(site, out_root)
    line = text.splitlines().index("    device: /dev/drbd0") + 1
    assert str(caught.value.problems[0]).startswith(f"{site}:{line}: drbd[0].device: '/dev/sdz' is not a DRBD device")
    assert not (out_root / "lab-debian").exists()


def test_only_the_first_controller_bootstraps_the_cloud() -> None:
    """Nova cells v2: the bootstrap runs once, on one controller; computes only enable theirs
    (the whole order is in tests/unit/test_openstack_render.py)."""
    site_plan = plan(load_site(SITES / "lab-el9.yml"))
    controller = openstack_steps(site_plan, site_plan.node("controller"))
    assert controller[0].id == "sql-databases" and controller[-1].id == "http-wait:apis"
    assert all(s.once for s in controller if "-manage:" in s.id and s.id != "nova-manage:discover-hosts")
    assert openstack_steps(site_plan, site_plan.node("drbd-node1")) == []
    legacy = plan(load_site(SITES / "lab-legacy.yml"))
    argvs = [s.args.get("argv") for s in openstack_steps(legacy, legacy.node("controller"))]
    assert ["su", "-s", "/bin/sh", "-c", "nova-manage db sync", "nova"] in argvs


@pytest.mark.parametrize("site", BUNDLED, ids=lambda p: p.stem)
def test_drbd_peers_authenticate_with_a_kept_shared_secret(site: Path, out_root: Path) -> None:
    """Every DRBD dialect gets cram-hmac-alg + shared-secret from the site's secrets/ (0600, the
    same on both peers, the same after a re-render); the resource file itself is 0600."""
    first = Path(commands.render_site(site, out_root).output).resolve()
    secret = (first / "secrets" / "drbd-r0.password").read_text().strip()
    assert len(secret) == 48 and (first / "secrets" / "drbd-r0.password").stat().st_mode & 0o777 == 0o600
    texts = {p.parent.parent.parent.name: p.read_text() for p in first.glob("nodes/*/etc/drbd.d/r0.res")}
    assert len(texts) == 2 and len(set(texts.values())) == 1
    text = next(iter(texts.values()))
    assert f'shared-secret "{secret}";' in text
    assert ("cram-hmac-alg sha256;" if "DRBD 9 syntax" in text else "cram-hmac-alg sha1;") in text
    for node in texts:
        bundle = json.loads((first / "nodes" / node / "node.json").read_text())
        [entry] = [f for f in bundle["files"] if f["path"] == "/etc/drbd.d/r0.res"]
        assert entry["mode"] == "0600" and entry["secret"]
    again = Path(commands.render_site(site, out_root).output).resolve()
    assert (again / "nodes" / next(iter(texts)) / "etc/drbd.d/r0.res").read_text() == text
