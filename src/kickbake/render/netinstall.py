"""Debian installs over PXE (no anaconda): the image installs itself to the node's root disk.

While a node's netboot state is `install` and its image tar is built, the node's PXE entry boots
the image's kernel and initramfs with `kickbake.install=<URL of kickstarts/<node>.install>`. That
descriptor is the Debian node's kickstart: the root disk, the image tar's URL and sha256, the
node's one-shot token, and the URL and sha256 of the node's install script (the same script a
kickstart's last %post runs). The initramfs (elements/kickbake-netinstall) makes the root
filesystem, streams the verified tar into it, runs the script (own bundle, report: the report
switches the node to local) and reboots; the local entry then boots the same kernel with the root
on the disk and first boot configures the node.

The descriptor is served to the node's own addresses only (it holds the token); the tar and the
script only with the token as well (install_gate)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from kickbake.model.plan import NodeView, SitePlan
from kickbake.output import Stage
from kickbake.render.install import INSTALL_DIR, InstallDelivery
from kickbake.render.liveimg import image_tar
from kickbake.render.pxe import TEMPLATES
from kickbake.render.pxe_view import DIB_ROOT_LABEL, base_url
from kickbake.render.templating import render_template

SUFFIX = ".install"  # kickstarts/<node>.install
IMAGE_SUFFIX = ".image"  # install/<node>.image: the node's image tar, token-gated
SCRIPT_SUFFIX = ".py"  # install/<node>.py: the node's install script, token-gated


@dataclass(frozen=True)
class NetInstall:
    """One node's install from its image: the values of its descriptor."""

    site: str
    node: str
    image: str
    disk: str  # /dev/<the inventory's root disk>
    label: str
    image_url: str
    image_sha256: str
    token: str
    script_url: str
    script_sha256: str

    @property
    def relative(self) -> str:
        return descriptor_relative(self.node)


def descriptor_relative(node: str) -> str:
    return f"kickstarts/{node}{SUFFIX}"


def descriptor_url(site_plan: SitePlan, node: str) -> str:
    pxe = site_plan.site.pxe
    assert pxe is not None
    return f"{base_url(pxe)}/{site_plan.site.site}/{descriptor_relative(node)}"


def netinstall_of(site_plan: SitePlan, node: NodeView, delivery: InstallDelivery | None,
                  site_dir: Path) -> NetInstall | str:
    """The node's install from its image, or why it has none (its entry then boots the disk)."""
    if node.has_kickstart:
        return "installed by anaconda"
    if delivery is None or delivery.token is None:
        return "netboot local"
    tar = image_tar(site_plan, node, site_dir)
    if isinstance(tar, str):
        return tar
    site_url = delivery.bundle_url.rsplit("/", 2)[0]  # http://server/<site>
    script = delivery.script.encode()
    return NetInstall(
        site=site_plan.site.site, node=node.hostname, image=tar.name, disk=f"/dev/{node.root_disk}",
        label=DIB_ROOT_LABEL, image_url=f"{site_url}/{INSTALL_DIR}/{node.hostname}{IMAGE_SUFFIX}",
        image_sha256=tar.sha256, token=delivery.token,
        script_url=f"{site_url}/{INSTALL_DIR}/{node.hostname}{SCRIPT_SUFFIX}",
        script_sha256=hashlib.sha256(script).hexdigest(),
    )


def render_netinstall(site_plan: SitePlan, stage: Stage,
                      deliveries: dict[str, InstallDelivery]) -> tuple[dict[str, NetInstall], dict[str, str]]:
    """Write the descriptors; (node -> its install, node -> why it has none) for image nodes."""
    installs: dict[str, NetInstall] = {}
    reasons: dict[str, str] = {}
    if site_plan.site.pxe is None:
        return installs, reasons
    for node in site_plan.nodes:
        if node.has_kickstart:
            continue
        found = netinstall_of(site_plan, node, deliveries.get(node.hostname), stage.root)
        if isinstance(found, str):
            reasons[node.hostname] = found
            continue
        stage.write(found.relative, render_template(TEMPLATES, "pxe/node.install.j2", n=found))
        installs[node.hostname] = found
    return installs, reasons
