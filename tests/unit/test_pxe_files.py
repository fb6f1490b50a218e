"""The generated PXE tree, read back by small parsers of each boot loader's format: every node's
MAC gets a pxelinux, GRUB and iPXE file whose kernel line carries that node's own arguments."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from kickbake.commands import render_site
from kickbake.model import load_site, plan
from tests.conftest import BUNDLED, SITES

# site -> node -> (pxe MAC, the argument naming its kickstart or its identity)
EXPECTED = {
    "lab-legacy": {
        "controller": ("52:54:00:00:01:10", "ks=http://192.168.122.1/lab-legacy/kickstarts/controller.ks"),
        "drbd-node1": ("52:54:00:00:01:11", "ks=http://192.168.122.1/lab-legacy/kickstarts/drbd-node1.ks"),
        "drbd-node2": ("52:54:00:00:01:12", "ks=http://192.168.122.1/lab-legacy/kickstarts/drbd-node2.ks"),
    },
    "lab-el9": {
        "controller": ("52:54:00:00:01:20", "inst.ks=http://192.168.122.1/lab-el9/kickstarts/controller.ks"),
        "drbd-node1": ("52:54:00:00:01:21", "inst.ks=http://192.168.122.1/lab-el9/kickstarts/drbd-node1.ks"),
        "drbd-node2": ("52:54:00:00:01:22", "inst.ks=http://192.168.122.1/lab-el9/kickstarts/drbd-node2.ks"),
    },
    "lab-debian": {
        "controller": ("52:54:00:00:01:30", "kickbake.node=controller"),
        "drbd-node1": ("52:54:00:00:01:31", "kickbake.node=drbd-node1"),
        "drbd-node2": ("52:54:00:00:01:32", "kickbake.node=drbd-node2"),
    },
}
KERNELS = {"lab-legacy": "images/fedora-15/vmlinuz", "lab-el9": "images/el9/vmlinuz"}


@pytest.fixture(scope="module")
def out_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pxe") / "output"
    for site in BUNDLED:
        render_site(site, root)
    return root


def parse_pxelinux(text: str) -> tuple[str, str, list[str]]:
    """(kernel, initrd, append args) of the DEFAULT label."""
    labels: dict[str, dict[str, str]] = {}
    default, current = "", None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        key = key.upper()
        if key == "DEFAULT":
            default = value.strip()
        elif key == "LABEL":
            current = labels.setdefault(value.strip(), {})
        elif current is not None:
            current[key] = value.strip()
    entry = labels[default]
    return entry["KERNEL"], entry["INITRD"], shlex.split(entry["APPEND"])


def parse_grub(text: str) -> tuple[str, str, list[str]]:
    """(kernel, initrd, args) of the first menuentry."""
    body = text[text.index("menuentry") :]
    linux = re.search(r"^\s*linux\s+(\S+)(.*)$", body, re.M)
    initrd = re.search(r"^\s*initrd\s+(\S+)\s*$", body, re.M)
    assert linux and initrd, text
    return linux[1].lstrip("/"), initrd[1].lstrip("/"), shlex.split(linux[2])


def parse_ipxe(text: str) -> tuple[str, str, list[str]]:
    assert text.startswith("#!ipxe\n")
    commands = [line.split() for line in text.splitlines() if line and not line.startswith("#")]
    kernel = next(c for c in commands if c[0] == "kernel")
    initrd = next(c for c in commands if c[0] == "initrd")
    assert commands[-1] == ["boot"]
    return kernel[1], initrd[1], kernel[2:]


def _cases() -> list[tuple[str, str]]:
    return [(site, node) for site, nodes in EXPECTED.items() for node in nodes]


@pytest.mark.parametrize(("site", "node"), _cases())
def test_every_loader_boots_the_node_with_its_own_command_line(out_root: Path, site: str, node: str) -> None:
    mac, identity = EXPECTED[site][node]
    dashes = mac.replace(":", "-")
    pxe = out_root / site / "pxe"
    loaders = {
        "pxelinux": parse_pxelinux((pxe / "pxelinux.cfg" / f"01-{dashes}").read_text()),
        "grub": parse_grub((pxe / "grub" / f"grub.cfg-01-{dashes}").read_text()),
        "ipxe": parse_ipxe((pxe / "ipxe" / f"{node}.ipxe").read_text()),
    }
    for loader, (kernel, initrd, args) in loaders.items():
        assert identity in args, (loader, args)
        assert f"BOOTIF=01-{dashes}" in args and "console=ttyS0,115200" in args, (loader, args)
        # no other node's identity leaks into this node's line
        others = [i for n, (_, i) in EXPECTED[site].items() if n != node]
        assert not set(others) & set(args), (loader, args)
        image = "controller" if node == "controller" else "storage-node"
        expected_kernel = KERNELS.get(site, f"images/{image}/vmlinuz")
        assert kernel.endswith(expected_kernel), (loader, kernel)
        assert initrd.endswith(expected_kernel.replace("vmlinuz", "initrd.img")), (loader, initrd)


def test_fedora15_uses_ks_and_el9_inst_ks(out_root: Path) -> None:
    legacy = parse_pxelinux((out_root / "lab-legacy/pxe/pxelinux.cfg/01-52-54-00-00-01-11").read_text())[2]
    el9 = parse_pxelinux((out_root / "lab-el9/pxe/pxelinux.cfg/01-52-54-00-00-01-21").read_text())[2]
    assert not any(a.startswith("inst.ks=") for a in legacy) and "ksdevice=bootif" in legacy
    assert not any(a.startswith("ks=") for a in el9) and "ip=dhcp" in el9


def test_dispatchers_name_every_mac(out_root: Path) -> None:
    for site, nodes in EXPECTED.items():
        grub = (out_root / site / "pxe/grub/grub.cfg").read_text()
        ipxe = (out_root / site / "pxe/ipxe/boot.ipxe").read_text()
        for node, (mac, _) in nodes.items():
            dashes = mac.replace(":", "-")
            assert f'"${{net_default_mac}}" = "{mac}" ]; then configfile ${{prefix}}/grub.cfg-01-{dashes}' in grub
            assert f"iseq ${{mac}} {mac} && chain --autofree http://192.168.122.1/{site}/pxe/ipxe/{node}.ipxe" in ipxe


def test_dnsmasq_reserves_each_node_address(out_root: Path) -> None:
    for site in EXPECTED:
        conf = (out_root / site / "pxe/dnsmasq.conf").read_text()
        site_plan = plan(load_site(SITES / f"{site}.yml"))
        for node in site_plan.nodes:
            assert f"dhcp-host={node.interfaces[0].mac},{node.address_on('mgmt')},{node.hostname}\n" in conf
        assert f"tftp-root={out_root.absolute() / site / 'pxe'}\n" in conf


def test_secrets_and_node_bundles_are_never_published(out_root: Path) -> None:
    nginx = (out_root / "lab-el9/pxe/nginx-site.conf").read_text()
    published = re.findall(r"location \^~ /lab-el9/(\w+)/", nginx)
    assert published == ["kickstarts", "images", "repos", "pxe"]
