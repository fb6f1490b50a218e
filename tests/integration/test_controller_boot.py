"""Proof on this machine: build the lab-debian controller image (installing exactly a fresh lock)
and boot it under qemu (TCG) as `controller`: its first boot starts MariaDB and RabbitMQ, creates
Nova's databases and users from the baked nova.conf, runs nova-manage's schema and cells
bootstrap once (DOMAIN.md NV5 and runbook 4b step 11). The Nova services stay enabled, not
started: they need Keystone and Placement, which the lab does not have.

Slow (build ~4 min, first boot several minutes under emulation): marked slow, run by ./kb test."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from kickbake import commands
from kickbake.progress import Progress
from kickbake.record.lock import lock_site
from tests.conftest import SITES
from tests.integration.vm import Vm, system_disk, tools_missing

pytestmark = [pytest.mark.slow, pytest.mark.realtool]

MAC = "52:54:00:00:01:30"  # controller's mgmt interface in sites/lab-debian.yml


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = commands.missing_build_tools() + tools_missing()
    if missing:
        pytest.skip(f"cannot build and boot images here: missing {', '.join(missing)}")
    out_root = tmp_path_factory.mktemp("output")
    lock = Path(lock_site(SITES / "lab-debian.yml", repos_dir=tmp_path_factory.mktemp("repos")).path)
    start = time.monotonic()
    commands.build_site(SITES / "lab-debian.yml", "controller", ("qcow2",), "baremetal", out_root=out_root,
                        progress=Progress.to_stderr(), lock_path=lock)
    print(f"\nBUILD lab-debian controller: {time.monotonic() - start:.0f}s")
    return out_root / "lab-debian" / "images"


def test_controller_first_boot_bootstraps_nova(images: Path, tmp_path: Path) -> None:
    manifest = json.loads((images / "controller.manifest.json").read_text())
    installed = {p["name"] for p in manifest["packages"]}
    assert {"nova-api", "mariadb-server", "rabbitmq-server"} <= installed
    log = (images / "controller.build.log").read_text()
    assert "locked packages installed at their locked versions" in log
    assert "not in the lock" not in log  # the lock covers the whole image, the agent's packages too
    system = system_disk(images / "controller.qcow2", tmp_path / "controller.raw")
    vm = Vm("controller", images / "controller.vmlinuz", images / "controller.initrd", [system],
            [(MAC, "user,restrict=on")], "kickbake.node=controller", tmp_path, timeout=2400, memory=3072, cpus=2)
    vm.start()
    code = vm.wait_exit(2400)
    print(f"\nBOOT controller: first boot (Nova bootstrap) and probe in {time.monotonic() - vm.started:.0f}s")
    lines = vm.lines()
    assert code == 0, lines
    for step in ("nova-db-prepare", "rabbitmq-user", "nova-manage:api_db", "nova-manage:map-cell0",
                 "nova-manage:create-cell1", "nova-manage:db"):
        assert any(line.startswith(f"KICKBAKE step {step} ok") for line in lines), (step, lines)
    assert vm.probe("done-stamp"), lines
    active = dict(line.split(maxsplit=1) for line in vm.probe("active"))
    assert active["mariadb"] == active["rabbitmq-server"] == "active", lines
    assert vm.probe("cells") == ["cell0 cell1"], lines
    assert "nova" in vm.probe("rabbit-users")[0].split(), lines
