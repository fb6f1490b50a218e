"""What one image build is: its elements, environment and the exact disk-image-create command.

Everything here is computed from the site plan (and, for Debian, the host's apt sources read at
run time); nothing runs. `./kb build --dry-run` prints exactly this."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from kickbake.build.aptsources import host_mirror
from kickbake.elements import base_elements
from kickbake.errors import BadInput, KickbakeError, Problem
from kickbake.model import SitePlan
from kickbake.model.schema import Image
from kickbake.model.types import Bake, ImageType
from kickbake.paths import ELEMENTS_DIR

# node feature (plan.features_of) -> the element that bakes its packages
FEATURE_ELEMENTS = {
    "drbd": "drbd",
    "cluster-legacy": "clvm-legacy",
    "shared-lvm-legacy": "clvm-legacy",
    "cluster-current": "ha-cluster",
    "shared-lvm-current": "ha-cluster",
    "openstack-controller": "openstack-controller",
    "openstack-compute": "openstack-compute",
}
LOCK_ELEMENT = "kickbake-lock"  # added when the site has a lock: the build installs exactly its pins
# added to locked Debian builds from the host's mirror: it saves the package layer for reuse
LAYER_ELEMENT = "kickbake-layer"
# vm: a partitioned, bootloader-installed disk (needs device-mapper/kpartx on the build host).
# baremetal: a filesystem image plus the kernel and initrd beside it (works without device-mapper;
# boot it with qemu -kernel/-initrd or PXE).
LAYOUTS = ("vm", "baremetal")
ROOT_LABEL = "cloudimg-rootfs"  # diskimage-builder's default root filesystem label


def package_db_path(payload: Path) -> Path:
    """Where kickbake-record copies the image's package database: beside the payload."""
    return payload.with_name(payload.name.removesuffix(".payload") + ".packagedb")


def default_layout() -> str:
    return "vm" if Path("/dev/mapper/control").exists() else "baremetal"


def default_cache_dir() -> Path:
    """One download/debootstrap/apt cache shared by every build (and every CI run)."""
    return Path(os.environ.get("DIB_IMAGE_CACHE", Path.home() / ".cache" / "image-create"))


@dataclass(frozen=True)
class LockedSet:
    """What the lock pins for one image, in the package manager's own syntax."""

    path: Path
    kind: str  # deb or rpm
    pins: tuple[str, ...]


@dataclass(frozen=True)
class MirrorSource:
    """Build from ./kb mirror's snapshot instead of the release's repos: the Debian repo of the
    image's release under output/<site>/repos/, served on 127.0.0.1 for the build, signed with
    the mirror's own key. Nothing else is reachable to the build: no host mirror, no cached
    debootstrap tarball (it came from elsewhere)."""

    url: str  # http://127.0.0.1:<port>/<site>/repos/<release>/
    suite: str
    keyring: Path
    node_url: str = ""  # the same repo as the site's PXE server publishes it, for the nodes' apt


@dataclass(frozen=True)
class BuildSpec:
    site: str
    image: Image
    release: str
    nodes: tuple[str, ...]  # nodes that boot this image
    baked_nodes: tuple[str, ...]  # nodes whose config bundles are baked in
    elements: tuple[str, ...]
    types: tuple[str, ...]
    layout: str
    env: dict[str, str]  # what kickbake sets on top of the caller's environment
    lock: LockedSet | None = None  # None: an unlocked build (the site has no repos/<site>.lock)

    def argv(self, output_base: Path) -> list[str]:
        return ["disk-image-create", "-a", "amd64", "-t", ",".join(self.types), "-o", str(output_base),
                "--checksum", *self.elements]

    def command_text(self, output_base: Path) -> str:
        lines = [f"{key}={shlex.quote(value)}" for key, value in sorted(self.env.items())]
        return " \\\n".join([*lines, shlex.join(self.argv(output_base))])


def image_named(site_plan: SitePlan, name: str | None) -> list[Image]:
    images = site_plan.site.images
    if name is None:
        return list(images)
    found = [i for i in images if i.name == name]
    if not found:
        known = ", ".join(i.name for i in images) or "none"
        source = str(site_plan.inventory.source.path)
        raise BadInput(Problem(source, 0, "images", f"image {name!r} is not defined", f"images: {known}"))
    return found


def _nodes_of(site_plan: SitePlan, image: Image) -> tuple[str, ...]:
    return tuple(n.hostname for n in site_plan.nodes if set(n.node.roles) & set(image.roles))


def _elements(site_plan: SitePlan, image: Image, nodes: tuple[str, ...], layout: str,
              locked: bool, layered: bool) -> tuple[str, ...]:
    release = site_plan.node(nodes[0]).release
    distro = release.diskimage.element
    role_elements: set[str] = set()
    if image.bake != Bake.BASE:  # base: the agent installs role packages at first boot
        for hostname in nodes:
            features = site_plan.features_of(site_plan.node(hostname).node)
            role_elements |= {FEATURE_ELEMENTS[f] for f in features if f in FEATURE_ELEMENTS}
    lock = (LOCK_ELEMENT,) if locked else ()
    layer = (LAYER_ELEMENT,) if layered else ()
    return (distro, *base_elements(release), *lock, *layer, *sorted(role_elements), layout)


def require_debian_for_mirror(site_plan: SitePlan, image: Image) -> None:
    """--from-mirror serves a Debian snapshot to debootstrap and apt; rpm images take the
    snapshot through their repo baseurls instead."""
    nodes = _nodes_of(site_plan, image)
    if nodes and site_plan.node(nodes[0]).release.family != "debian":
        raise KickbakeError(f"image {image.name}: --from-mirror builds Debian images only",
                            hint="for rpm images point the site's repos at the mirror's directories "
                                 "(baseurl: http://<server>/<site>/repos/<repo>/, served by ./kb serve)")


def _mirror_env(mirror: MirrorSource) -> dict[str, str]:
    # Not DIB_APT_KEYRING: debian-minimal feeds it to `apt-key add` in a chroot that has no gnupg
    # yet. debootstrap gets the keyring directly; kickbake-lock's root.d copies it into the
    # chroot's /etc/apt/trusted.gpg.d (no signed-by=[...] in the source: DIB's debian-minimal
    # echoes each source line unquoted, where the brackets would be a glob).
    return {
        "DIB_DISTRIBUTION_MIRROR": mirror.url,
        "DIB_DEBIAN_COMPONENTS": "main",
        "DIB_DEBOOTSTRAP_EXTRA_ARGS": f"--keyring={mirror.keyring}",
        "DIB_APT_SOURCES_CONF": f"default:deb {mirror.url} {mirror.suite} main",
        "DIB_DEBOOTSTRAP_CACHE": "0",
        "KICKBAKE_MIRROR_KEYRING": str(mirror.keyring),
        "KICKBAKE_BUILD_MIRROR": mirror.url,  # kickbake-lock points the image's source away from it
        **({"KICKBAKE_NODE_MIRROR": mirror.node_url} if mirror.node_url else {}),
    }


def _release_env(site_plan: SitePlan, image: Image, nodes: tuple[str, ...],
                 mirror: MirrorSource | None = None) -> dict[str, str]:
    view = site_plan.node(nodes[0])
    env = {"DIB_RELEASE": view.release.diskimage.release}
    mirrored = [r for r in view.repos if r.kind == "deb" and r.host_mirror]
    if mirror is not None:
        require_debian_for_mirror(site_plan, image)
        env.update(_mirror_env(mirror))
    elif mirrored:
        suite = mirrored[0].suite or env["DIB_RELEASE"]
        host_uri, sources = host_mirror(suite)
        components = " ".join(mirrored[0].components or ("main",))
        env["DIB_DISTRIBUTION_MIRROR"] = host_uri
        env["DIB_DEBOOTSTRAP_CACHE"] = env["DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE"] = "1"  # reuse the bootstrap
        env["DIB_DEBIAN_COMPONENTS"] = ",".join(mirrored[0].components or ("main",))
        # only the suites this host's mirror serves (no separate security host when offline)
        names = {suite: "default", f"{suite}-updates": "updates", f"{suite}-security": "security"}
        env["DIB_APT_SOURCES_CONF"] = "\n".join(
            f"{names.get(s.suite, s.suite)}:deb {s.uri} {s.suite} {components}" for s in sources
        )
    if image.base is not None:
        env["DIB_LOCAL_IMAGE"] = image.base.path
    return env


def build_spec(site_plan: SitePlan, image: Image, types: tuple[str, ...] = (), layout: str = "",
               payload: Path = Path("payload"), lock: LockedSet | None = None,
               mirror: MirrorSource | None = None) -> BuildSpec:
    nodes = _nodes_of(site_plan, image)
    if not nodes:
        raise BadInput(f"image {image.name!r}: no node has any of its roles {', '.join(image.roles)}")
    releases = {site_plan.node(n).release.name for n in nodes}
    if len(releases) > 1:
        raise BadInput(f"image {image.name!r}: its nodes run different releases ({', '.join(sorted(releases))})")
    layout = layout or default_layout()
    if layout not in LAYOUTS:
        raise KickbakeError(f"unknown image layout {layout!r}", hint=f"one of {', '.join(LAYOUTS)}")
    chosen = tuple(types) or tuple(t.value for t in image.types)
    unknown = [t for t in chosen if t not in {i.value for i in ImageType}]
    if unknown:
        raise BadInput(Problem("--type", 0, "", f"unknown image type(s) {', '.join(unknown)}", "qcow2, raw or tar"))
    env = {
        "ELEMENTS_PATH": str(ELEMENTS_DIR),
        "DIB_IMAGE_CACHE": str(default_cache_dir()),
        "DIB_IMAGE_SIZE": str(image.size_gib),
        "KICKBAKE_PAYLOAD": str(payload),
        "KICKBAKE_PACKAGE_DB": str(package_db_path(payload)),
        **_release_env(site_plan, image, nodes, mirror),
    }
    baked = tuple(n.hostname for n in site_plan.nodes) if image.bake == Bake.FULL else nodes
    # a cacheable package layer: exact pins, from a fixed source through debootstrap's cache hook
    layered = (lock is not None and mirror is None and "DIB_DISTRIBUTION_MIRROR" in env
               and site_plan.node(nodes[0]).release.family == "debian")
    return BuildSpec(
        site=site_plan.site.site, image=image, release=releases.pop(), nodes=nodes, baked_nodes=baked,
        elements=_elements(site_plan, image, nodes, layout, lock is not None, layered), types=chosen,
        layout=layout, env=env, lock=lock,
    )
