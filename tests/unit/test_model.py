"""The typed model: values are validated, normalised and frozen; derived views are right."""

from __future__ import annotations

import pydantic
import pytest

from kickbake.model import load_site, plan
from kickbake.model.types import Stack, check_mac
from tests.conftest import SITES


def test_mac_addresses_are_normalised_to_lowercase_colons() -> None:
    assert check_mac("52-54-00-AB-CD-EF") == "52:54:00:ab:cd:ef"


def test_model_is_frozen() -> None:
    site = load_site(SITES / "lab-legacy.yml").site
    with pytest.raises(pydantic.ValidationError):
        site.domain = "other.example"  # type: ignore[misc]


def test_reference_lab_shape() -> None:
    site = load_site(SITES / "lab-legacy.yml").site
    assert [n.hostname for n in site.nodes] == ["controller", "drbd-node1", "drbd-node2"]
    assert site.clusters[0].stack is Stack.LEGACY
    assert site.drbd[0].dual_primary and site.drbd[0].device == "/dev/drbd0"
    assert site.volume_groups[0].name == "vg_shared" and site.volume_groups[0].devices == ("/dev/drbd0",)


def test_packages_follow_release_and_role() -> None:
    legacy = plan(load_site(SITES / "lab-legacy.yml"))
    node = legacy.node("drbd-node1")
    assert {"lvm2-cluster", "cman", "drbd-utils", "openstack-nova"} <= set(node.packages)
    assert node.packages == tuple(sorted(node.packages))
    el9 = plan(load_site(SITES / "lab-el9.yml")).node("drbd-node1")
    assert {"kmod-drbd9x", "drbd9x-utils", "pacemaker", "pcs", "lvm2-lockd", "dlm"} <= set(el9.packages)
    assert "lvm2-cluster" not in el9.packages
    assert "centos-release-openstack-epoxy" in el9.packages
    controller = legacy.node("controller")
    assert "drbd-utils" not in controller.packages and "openstack-nova" in controller.packages


def test_derived_network_values() -> None:
    node = plan(load_site(SITES / "lab-legacy.yml")).node("drbd-node2")
    eth1 = next(i for i in node.interfaces if i.name == "eth1")
    assert (str(eth1.address), str(eth1.netmask), eth1.prefix, eth1.gateway) == ("10.0.0.2", "255.255.255.0", 24, None)
    assert str(node.gateway) == "192.168.122.1"
    assert node.keep_disks == ("vdb",) and node.root_disk == "vda"
    assert "7788:tcp" in node.firewall_ports and "5405:udp" in node.firewall_ports


def test_cluster_names_resolve_to_ring_addresses() -> None:
    hosts = plan(load_site(SITES / "lab-legacy.yml")).hosts_entries
    assert "10.0.0.1 drbd-node1.lab.example drbd-node1" in hosts
    assert "192.168.122.11 drbd-node1-mgmt" in hosts
    assert "192.168.122.10 controller.lab.example controller" in hosts


def test_release_resolution_prefers_node_then_role_then_site(tmp_path) -> None:
    text = (SITES / "lab-legacy.yml").read_text()
    text = text.replace(
        "  storage:\n    openstack: compute", "  storage:\n    openstack: compute\n    release: fedora-16"
    )
    text = text.replace("  - hostname: drbd-node2\n", "  - hostname: drbd-node2\n    release: fedora-15\n")
    text = text[: text.index("images:")] + text[text.index("pxe:") :]  # one image cannot span releases
    path = tmp_path / "lab.yml"
    path.write_text(text)
    site_plan = plan(load_site(path))
    assert [site_plan.node(h).release.name for h in ("controller", "drbd-node1", "drbd-node2")] == [
        "fedora-15",
        "fedora-16",
        "fedora-15",
    ]


def test_yaml_reads_unquoted_macs_and_words_as_strings(tmp_path) -> None:
    """YAML 1.1 would turn 52:54:00:00:01:10 into a base-60 integer and `off` into false."""
    from kickbake.model.yamlsource import load_yaml

    path = tmp_path / "x.yml"
    path.write_text("mac: 52:54:00:00:01:10\nword: off\nflag: true\nport: 7788\n")
    data = load_yaml(path).data
    assert data == {"mac": "52:54:00:00:01:10", "word": "off", "flag": True, "port": 7788}
    assert load_yaml(path).line_of(("port",)) == 4


def test_a_release_whose_handler_pykickstart_lacks_is_refused(monkeypatch) -> None:
    from kickbake.errors import BadInput
    from kickbake.model import load as load_module
    from kickbake.model.catalog import load_releases

    releases = dict(load_releases())
    dialect = releases["fedora-15"].kickstart
    assert dialect is not None
    future = releases["fedora-15"].model_copy(update={"kickstart": dialect.model_copy(update={"handler": "F99"})})
    monkeypatch.setattr(load_module, "load_releases", lambda: {**releases, "fedora-15": future})
    with pytest.raises(BadInput) as caught:
        load_site(SITES / "lab-legacy.yml")
    assert "needs kickstart handler F99, which this pykickstart does not know" in str(caught.value)
    assert "(hint: upgrade pykickstart or pick another release)" in str(caught.value)
