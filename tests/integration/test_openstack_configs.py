"""The rendered OpenStack configs against the services' own option definitions: the real
`oslo-config-validator` with the Debian 12 packages (python3-keystone, -glance, -placement, -nova;
./kb test installs them) accepts every file kickbake writes, and catches a misspelled option, an
option in the wrong section, a repeated option; the messages name section/option, never a value."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kickbake.model.catalog import load_releases
from kickbake.validate.openstackconf import check_options, check_service_config, definitions_missing
from tests.bundles import render
from tests.conftest import SITES

pytestmark = pytest.mark.realtool
SERVICES = {s.name: s for s in load_releases()["debian-12"].openstack.services}  # type: ignore[union-attr]
FILES = {"keystone": "etc/keystone/keystone.conf", "glance": "etc/glance/glance-api.conf",
         "placement": "etc/placement/placement.conf", "nova": "etc/nova/nova.conf"}


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reasons = [r for r in map(definitions_missing, SERVICES.values()) if r]
    if reasons:
        pytest.skip("; ".join(reasons))
    return render(SITES / "lab-debian.yml", tmp_path_factory.mktemp("out")) / "nodes" / "controller"


def copy(controller: Path, service: str, tmp_path: Path) -> Path:
    target = tmp_path / Path(FILES[service]).name
    shutil.copy2(controller / FILES[service], target)
    return target


@pytest.mark.parametrize("service", sorted(FILES))
def test_every_rendered_option_is_defined(service: str, controller: Path, tmp_path: Path) -> None:
    ok, said = check_options(copy(controller, service, tmp_path), SERVICES[service])
    assert ok, said


@pytest.mark.parametrize(("service", "old", "new", "message"), [
    ("keystone", "provider = fernet", "providr = fernet", "token/providr is not part of the sample config"),
    ("glance", "default_store = file", "default_stor = file", "glance_store/default_stor is not part"),
    ("placement", "[placement_database]", "[placement_db]", "placement_db/connection is not part"),
    ("nova", "discover_hosts_in_cells_interval", "discover_hosts_interval", "scheduler/discover_hosts_interval"),
])
def test_the_validator_rejects(service: str, old: str, new: str, message: str, controller: Path,
                               tmp_path: Path) -> None:
    path = copy(controller, service, tmp_path)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    ok, said = check_options(path, SERVICES[service])
    assert not ok and message in said, said
    assert "test-" not in said  # the stand-in passwords never show


def test_a_repeated_option_is_an_ini_error(controller: Path, tmp_path: Path) -> None:
    path = copy(controller, "glance", tmp_path)
    path.chmod(0o600)
    assert check_service_config(path, SERVICES["glance"], first=True)[0]
    path.write_text(path.read_text().replace("default_store = file\n", "default_store = file\ndefault_store = rbd\n"))
    ok, said = check_service_config(path, SERVICES["glance"], first=True)
    assert not ok and "default_store" in said and "already exists" in said
