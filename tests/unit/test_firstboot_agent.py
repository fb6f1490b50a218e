"""The first-boot agent's decisions, in-process: which node am I, which steps run, and the guards
that keep it from destroying data (checked with the real wipefs, blkid and drbdmeta on files)."""

from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path

import pytest

from kickbake.firstboot import actions, agent, openstack, storage
from kickbake.firstboot.steps import ACTIONS
from tests.conftest import require_tool

BUNDLES = {
    "drbd-node1": {"steps": [{"id": "net", "action": "configure-network", "args": {"interfaces": [
        {"name": "eth0", "mac": "52:54:00:00:01:31", "address": "192.168.122.11/24", "gateway": ""}]}}]},
    "drbd-node2": {"steps": [{"id": "net", "action": "configure-network", "args": {"interfaces": [
        {"name": "eth0", "mac": "52:54:00:00:01:32", "address": "192.168.122.12/24", "gateway": ""}]}}]},
}


def test_agent_implements_every_action_of_the_contract() -> None:
    assert sorted(agent.ACTIONS) == sorted(ACTIONS)


@pytest.mark.parametrize("module", [agent, actions, openstack, storage])
def test_agent_stays_python_2_7_compatible(module: object) -> None:
    """It runs on the node's python (2.7 on Fedora 15/16): no f-strings, annotations, walrus."""
    tree = ast.parse(Path(module.__file__).read_text())  # type: ignore[attr-defined]
    for node in ast.walk(tree):
        assert not isinstance(node, ast.JoinedStr | ast.NamedExpr | ast.AnnAssign), ast.dump(node)[:80]
        if isinstance(node, ast.FunctionDef):
            assert node.returns is None and all(a.annotation is None for a in node.args.args), node.name
        if isinstance(node, ast.Raise):
            assert node.cause is None, "raise ... from is python 3 only"


def test_kernel_argument_wins() -> None:
    node, how = agent.identify("ro quiet kickbake.node=drbd-node2", ["52:54:00:00:01:31"], "localhost", BUNDLES)
    assert (node, how) == ("drbd-node2", "kernel argument kickbake.node")


def test_unknown_kernel_argument_is_an_error_not_a_guess() -> None:
    with pytest.raises(agent.NotIdentified, match="kickbake.node=nope has no baked bundle"):
        agent.identify("kickbake.node=nope", ["52:54:00:00:01:31"], "drbd-node1", BUNDLES)


def test_mac_then_hostname() -> None:
    assert agent.identify("ro", ["AA:BB:CC:DD:EE:FF", "52:54:00:00:01:32"], "debian", BUNDLES)[0] == "drbd-node2"
    assert agent.identify("ro", ["aa:bb:cc:dd:ee:ff"], "drbd-node1.lab.example", BUNDLES) == ("drbd-node1", "host name")


def test_nothing_matches_or_two_nodes_match() -> None:
    with pytest.raises(agent.NotIdentified, match="no kickbake.node argument"):
        agent.identify("ro", ["aa:bb:cc:dd:ee:ff"], "debian", BUNDLES)
    with pytest.raises(agent.NotIdentified, match="several nodes"):
        agent.identify("ro", ["52:54:00:00:01:31", "52:54:00:00:01:32"], "debian", BUNDLES)


def image_file(tmp_path: Path, name: str, mib: int = 16) -> Path:
    path = tmp_path / name
    with path.open("wb") as handle:
        handle.truncate(mib << 20)
    return path


def context(run=actions.run) -> actions.Context:
    return actions.Context(bundle={}, bundle_dir="", log=lambda m: None, run=run, sleep=lambda s: None)


def test_blank_device_is_blank(tmp_path: Path) -> None:
    require_tool("wipefs")
    assert actions.device_contents(context(), str(image_file(tmp_path, "blank"))) == []


def test_filesystem_signature_is_found(tmp_path: Path) -> None:
    require_tool("mkfs.ext4")
    disk = image_file(tmp_path, "ext4")
    subprocess.run(["mkfs.ext4", "-q", "-F", str(disk)], check=True)
    found = actions.device_contents(context(), str(disk))
    assert any("ext4" in reason for reason in found), found


def test_drbd_metadata_is_found_and_create_md_refuses(tmp_path: Path) -> None:
    require_tool("drbdmeta")
    disk = image_file(tmp_path, "drbd", 64)
    subprocess.run(["drbdmeta", "--force", "0", "v08", str(disk), "internal", "create-md"],
                   check=True, capture_output=True, input="yes\n", text=True)
    found = actions.device_contents(context(), str(disk))
    assert any("drbd" in reason.lower() for reason in found), found


def test_create_md_keeps_existing_metadata_and_refuses_a_filesystem(tmp_path: Path) -> None:
    """drbdadm answers per resource; the resource here exists only in a fake drbdadm answer,
    the disk checks are the real wipefs/blkid."""
    require_tool("mkfs.ext4")
    disk = image_file(tmp_path, "ext4")
    subprocess.run(["mkfs.ext4", "-q", "-F", str(disk)], check=True)
    calls: list[list[str]] = []

    def drbdadm_says(answer: actions.Result):
        def run(argv, check=True, env=None):
            calls.append(argv)
            return answer if argv[0] == "drbdadm" else actions.run(argv, check=check, env=env)
        return run

    kept = storage.drbd_create_md(context(drbdadm_says(actions.Result(0, "version v08\n"))),
                                  {"resource": "r0", "disk": str(disk)})
    assert kept.startswith("kept existing DRBD metadata")
    no_md = actions.Result(255, "No valid meta data found\n")
    with pytest.raises(actions.StepFailed, match="refusing drbdadm create-md .* not blank.*ext4"):
        storage.drbd_create_md(context(drbdadm_says(no_md)), {"resource": "r0", "disk": str(disk)})
    assert not any("create-md" in c for c in calls)


def test_vgcreate_refuses_a_device_with_a_signature(tmp_path: Path) -> None:
    require_tool("mkfs.ext4")
    disk = image_file(tmp_path, "ext4")
    subprocess.run(["mkfs.ext4", "-q", "-F", str(disk)], check=True)

    def run(argv, check=True, env=None):
        if argv[0] == "vgs":
            return actions.Result(5, "Volume group not found")
        if argv[0] == "vgcreate":
            raise AssertionError("vgcreate must not run")
        return actions.run(argv, check=check, env=env)

    with pytest.raises(actions.StepFailed, match="refusing vgcreate"):
        storage.vg_create_shared(context(run), {"vg": "vg_shared", "devices": [str(disk)], "lock_type": "dlm"})


def write_bundle(tmp_path: Path, steps: list[dict]) -> Path:
    bundle = tmp_path / "site" / "nodes" / "n1"
    bundle.mkdir(parents=True)
    (bundle / "node.json").write_text(json.dumps({"node": "n1", "files": [], "steps": steps}))
    return bundle


def test_once_steps_are_stamped_and_a_failure_stops_the_run(tmp_path: Path, monkeypatch) -> None:
    ran: list[str] = []
    def run(ctx, args):
        ran.append(args["argv"][0])
        return "ok"

    monkeypatch.setitem(agent.ACTIONS, "run", run)

    def fail(ctx, args):
        raise actions.StepFailed("peer not there")

    monkeypatch.setitem(agent.ACTIONS, "drbd-wait-connected", fail)
    steps: list[dict] = [{"id": "a", "action": "run", "args": {"argv": ["a"]}, "once": True},
             {"id": "b", "action": "drbd-wait-connected", "args": {}},
             {"id": "c", "action": "run", "args": {"argv": ["c"]}}]
    bundle = write_bundle(tmp_path, steps)
    lines: list[str] = []
    state = tmp_path / "state"
    assert not agent.run_steps({"steps": steps}, str(bundle), str(state), lines.append)
    assert ran == ["a"] and (state / "steps" / "a").exists()
    assert any("step b FAILED" in line for line in lines)
    monkeypatch.setitem(agent.ACTIONS, "drbd-wait-connected", lambda ctx, args: "Connected")
    assert agent.run_steps({"steps": steps}, str(bundle), str(state), lines.append)
    assert ran == ["a", "c"]  # the once step did not run again on the "next boot"
    assert any("step a skip: done on an earlier boot" in line for line in lines)


def test_bundle_hash_is_stable_and_content_sensitive(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path, [])
    first = agent.bundle_hash(str(bundle))
    assert first == agent.bundle_hash(str(bundle))
    (bundle / "etc").mkdir()
    (bundle / "etc" / "hosts").write_text("10.0.0.1 a\n")
    assert agent.bundle_hash(str(bundle)) != first


def test_install_files_is_atomic_with_mode(tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    (bundle / "etc").mkdir(parents=True)
    (bundle / "etc" / "key").write_text("secret\n")
    target = tmp_path / "root" / "etc" / "key"
    ctx = actions.Context(bundle={"files": [{"path": str(target), "source": "etc/key", "mode": "0600",
                                             "owner": "root", "group": "root"}]},
                          bundle_dir=str(bundle), log=lambda m: None)
    assert actions.install_files(ctx, {}) == "1 files"
    assert target.read_text() == "secret\n" and (target.stat().st_mode & 0o777) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["key"]  # no temporary left behind


def test_main_writes_the_done_stamp_once_and_then_does_nothing(tmp_path: Path, monkeypatch) -> None:
    ran: list[str] = []
    def run(ctx, args):
        ran.append("x")
        return "ok"

    monkeypatch.setitem(agent.ACTIONS, "run", run)
    bundle = tmp_path / "usr" / "share" / "kickbake" / "site" / "nodes" / "n1"
    bundle.mkdir(parents=True)
    (bundle / "node.json").write_text(json.dumps({"node": "n1", "files": [], "steps": [
        {"id": "x", "action": "run", "args": {"argv": ["true"]}}]}))
    (tmp_path / "etc" / "kickbake").mkdir(parents=True)
    (tmp_path / "etc" / "kickbake" / "image.json").write_text('{"image_id": "storage-node-abc"}')
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("ro kickbake.node=n1\n")
    assert agent.main(root=str(tmp_path), cmdline_path=str(cmdline)) == 0
    stamp = json.loads((tmp_path / "var" / "lib" / "kickbake" / "firstboot.done").read_text())
    assert stamp["image_id"] == "storage-node-abc" and stamp["bundle_hash"] == agent.bundle_hash(str(bundle))
    assert agent.main(root=str(tmp_path), cmdline_path=str(cmdline)) == 0
    assert ran == ["x"]
    log = (tmp_path / "var" / "log" / "kickbake-firstboot.log").read_text()
    assert "this is n1 (by kernel argument kickbake.node)" in log and "already done" in log
