"""Derived PXE values: per node boot entry (kernel, initrd, command line, MAC forms, file names)
and the site's boot server (URLs, roots, DHCP mode). Templates in templates/pxe/ only lay these out.

Paths in boot entries are relative to the TFTP root, output/<site>/pxe/:
- installer (Fedora/EL): images/<release>/vmlinuz + initrd.img, hard-linked from
  output/installers/<release>/ where the operator puts the install tree's images/pxeboot/ files;
- built image (Debian, no anaconda): images/<image>/vmlinuz + initrd.img, hard-linked from the
  image build's output/<site>/images/<image>.vmlinuz and .initrd."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from kickbake.model.plan import NodeView, SitePlan
from kickbake.model.schema import Image, Network, Pxe
from kickbake.model.types import DhcpMode, ImageType
from kickbake.render.netboot import INSTALL, LOCAL

# What the boot server publishes over HTTP, below <root>/<site>/: never nodes/ or secrets/.
PUBLISHED_DIRS = ("kickstarts", "images", "repos", "pxe")
# diskimage-builder labels the root filesystem of the images it bakes with this.
DIB_ROOT_LABEL = "cloudimg-rootfs"
INSTALLERS_DIR = "installers"
# nginx hands install bundles and reports to `./kb serve --behind-proxy` (its default port)
INSTALL_BACKEND = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class BootEntry:
    """How one node boots over the network."""

    node: str
    fqdn: str
    mac: str  # aa:bb:cc:dd:ee:ff
    address: IPv4Address | None
    kind: str  # "installer" (anaconda + kickstart) or "image" (the baked image's kernel)
    label: str  # what the menu shows
    kernel: str  # TFTP path
    initrd: str
    args: tuple[str, ...]
    kickstart_url: str | None
    source_dir: str  # where ./kb pxe takes the kernel/initrd from, for notes
    netboot: str = INSTALL  # local: the entry boots the node's own disk (installed, reported)
    addresses: tuple[str, ...] = ()  # every static address of the node: who may fetch its kickstart


    @property
    def local(self) -> bool:
        """Whether the entry hands over to the disk's own boot loader. An image entry (Debian)
        never does: a `baremetal` image's disk has no boot loader, so the entry boots the image's
        kernel with the root on the disk, after installing it there first while the state is
        `install` (kickbake.install=, render.netinstall)."""
        return self.netboot == LOCAL and self.kind == "installer"

    @property
    def installs_image(self) -> bool:
        return any(arg.startswith("kickbake.install=") for arg in self.args)

    @property
    def local_label(self) -> str:
        return f"Boot {self.fqdn} from its local disk (installed; ./kb netboot --install reinstalls)"

    @property
    def mac_dashes(self) -> str:
        return self.mac.replace(":", "-")

    @property
    def pxelinux_name(self) -> str:
        """pxelinux looks for pxelinux.cfg/01-<mac with dashes> (01 = Ethernet ARP type)."""
        return f"01-{self.mac_dashes}"

    @property
    def grub_name(self) -> str:
        """GRUB's net boot looks for grub.cfg-01-<mac with dashes> in its prefix directory."""
        return f"grub.cfg-01-{self.mac_dashes}"

    @property
    def ipxe_name(self) -> str:
        return f"{self.node}.ipxe"

    @property
    def cmdline(self) -> str:
        return " ".join(self.args)


@dataclass(frozen=True)
class PxeSite:
    """The boot server of one site and every node's boot entry."""

    site: str
    pxe: Pxe
    network: Network
    base_url: str  # http://server[:port]
    tftp_root: Path
    http_root: Path  # the output directory; URLs are /<site>/<published dir>/...
    entries: tuple[BootEntry, ...]
    skipped: dict[str, str]  # node -> why it has no boot entry
    # built image -> the addresses of the nodes that boot it: an image carries the baked node
    # bundles (keys), so only they may fetch it
    image_clients: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def proxy_dhcp(self) -> bool:
        return self.pxe.dhcp is DhcpMode.PROXY

    @property
    def cidr(self) -> IPv4Network:
        return self.network.cidr

    @property
    def published(self) -> tuple[str, ...]:
        return PUBLISHED_DIRS

    @property
    def image_suffixes(self) -> tuple[str, ...]:
        return tuple(t.value for t in ImageType)

    @property
    def install_backend(self) -> str:
        return INSTALL_BACKEND

    @property
    def ipxe_url(self) -> str:
        return f"{self.base_url}/{self.site}/pxe/ipxe"


def base_url(pxe: Pxe) -> str:
    port = "" if pxe.http_port == 80 else f":{pxe.http_port}"
    return f"http://{pxe.server}{port}"


def kickstart_url(site_plan: SitePlan, node: str, variant: str = "") -> str:
    pxe = site_plan.site.pxe
    assert pxe is not None
    return f"{base_url(pxe)}/{site_plan.site.site}/kickstarts/{node}{variant}.ks"


def image_of(site_plan: SitePlan, node: NodeView) -> Image | None:
    """The baked image whose roles include one of the node's roles (first in inventory order)."""
    return next((i for i in site_plan.site.images if set(i.roles) & set(node.node.roles)), None)


def _common_args(pxe: Pxe, mac: str) -> list[str]:
    # BOOTIF names the NIC to configure; pxelinux's IPAPPEND 2 would add it, GRUB and iPXE cannot.
    return [f"BOOTIF=01-{mac.replace(':', '-')}", f"console={pxe.console}"]


def _installer_entry(
    site_plan: SitePlan, node: NodeView, mac: str, address: IPv4Address | None, variant: str
) -> BootEntry:
    pxe, ks = site_plan.site.pxe, node.release.kickstart
    assert pxe is not None and ks is not None
    url = kickstart_url(site_plan, node.hostname, variant)
    args = [f"{ks.ks_arg}={url}"]
    tree = node.install_tree
    if tree is not None and tree.baseurl:
        args.append(f"{ks.repo_arg}={tree.baseurl}")
    args += [*ks.boot_args, *_common_args(pxe, mac), *pxe.kernel_args]
    return BootEntry(
        node=node.hostname, fqdn=node.fqdn, mac=mac, address=address, kind="installer",
        label=f"Install {node.fqdn} ({node.release.pretty}, kickstart)",
        kernel=f"images/{node.release.name}/vmlinuz", initrd=f"images/{node.release.name}/initrd.img",
        args=tuple(args), kickstart_url=url, source_dir=f"{INSTALLERS_DIR}/{node.release.name}",
    )


def _image_entry(site_plan: SitePlan, node: NodeView, image: Image, mac: str, address: IPv4Address | None,
                 install_url: str | None) -> BootEntry:
    pxe = site_plan.site.pxe
    assert pxe is not None
    args = [f"root=LABEL={DIB_ROOT_LABEL}", "ro", f"kickbake.node={node.hostname}", "ip=dhcp",
            *_common_args(pxe, mac), *pxe.kernel_args]
    label = f"Boot {node.fqdn} from its disk (image {image.name}'s kernel, {node.release.pretty})"
    if install_url is not None:  # the image's initramfs installs it to the root disk first
        args.append(f"kickbake.install={install_url}")
        label = f"Install {node.fqdn}: image {image.name} to /dev/{node.root_disk} ({node.release.pretty})"
    return BootEntry(
        node=node.hostname, fqdn=node.fqdn, mac=mac, address=address, kind="image",
        label=label,
        kernel=f"images/{image.name}/vmlinuz", initrd=f"images/{image.name}/initrd.img",
        args=tuple(args), kickstart_url=None, source_dir=f"{site_plan.site.site}/images/{image.name}.vmlinuz",
    )


def _entry(site_plan: SitePlan, node: NodeView, network: str, variant: str,
           install_url: str | None) -> BootEntry | str:
    """The node's boot entry, or why it has none."""
    iface = next((i for i in node.interfaces if i.network == network), None)
    if iface is None:
        return f"no interface on the PXE network {network}"
    if node.has_kickstart:
        return _installer_entry(site_plan, node, iface.mac, iface.address, variant)
    image = image_of(site_plan, node)
    if image is None:
        return f"{node.release.pretty} has no installer and no image names the node's roles"
    return _image_entry(site_plan, node, image, iface.mac, iface.address, install_url)


def pxe_site(site_plan: SitePlan, out_root: Path, variants: dict[str, str] | None = None,
             netboot: dict[str, str] | None = None, installs: dict[str, str] | None = None) -> PxeSite | None:
    """The site's PXE view; None when the inventory has no `pxe:` section. `variants` maps a node to
    the kickstart variant its installer fetches ("-liveimg" once its image is built), `netboot` to
    its netboot state (install when absent), `installs` an image node to its install descriptor's
    URL (render.netinstall: state install and a built image tar)."""
    variants, netboot, installs = variants or {}, netboot or {}, installs or {}
    pxe = site_plan.site.pxe
    if pxe is None:
        return None
    entries, skipped = [], {}
    for node in site_plan.nodes:
        found = _entry(site_plan, node, pxe.network, variants.get(node.hostname, ""), installs.get(node.hostname))
        if isinstance(found, str):
            skipped[node.hostname] = found
        else:
            addresses = tuple(sorted(str(i.address) for i in node.interfaces if i.address))
            entries.append(replace(found, netboot=netboot.get(node.hostname, INSTALL), addresses=addresses))
    site = site_plan.site.site
    out = out_root.absolute()
    clients: dict[str, set[str]] = {image.name: set() for image in site_plan.site.images}
    for node in site_plan.nodes:
        image = image_of(site_plan, node)
        if image is not None:
            clients[image.name] |= {str(i.address) for i in node.interfaces if i.address}
    return PxeSite(
        site=site, pxe=pxe, network=site_plan.site.network(pxe.network), base_url=base_url(pxe),
        tftp_root=out / site / "pxe", http_root=out, entries=tuple(entries), skipped=skipped,
        image_clients={name: tuple(sorted(addresses)) for name, addresses in sorted(clients.items())},
    )
