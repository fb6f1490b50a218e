"""What kickbake's own diskimage-builder elements install, read from their package-installs.yaml
and pkg-map the way diskimage-builder maps them, so the lock resolves exactly what a build
installs without a second list of the same names."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from kickbake.model.catalog import Release
from kickbake.paths import ELEMENTS_DIR

KICKBAKE_ELEMENTS = ("kickbake-base", "kickbake-firstboot", "kickbake-record")  # in every image
# the release's initramfs builder -> kickbake's element that installs the image to disk from it
NETINSTALL_ELEMENTS = {"initramfs-tools": "kickbake-netinstall"}


def base_elements(release: Release) -> tuple[str, ...]:
    """kickbake's elements every image of `release` gets, before its role elements."""
    netinstall = NETINSTALL_ELEMENTS.get(release.diskimage.initramfs)
    return (*KICKBAKE_ELEMENTS, netinstall) if netinstall else KICKBAKE_ELEMENTS
DIB_FAMILY = {"debian": "debian", "el": "redhat", "fedora": "redhat"}


def dib_distro(release: Release) -> str:
    """The distro name diskimage-builder's pkg-map keys its release sections by (DIB_DISTRO)."""
    return release.diskimage.element.removesuffix("-minimal")  # debian-minimal -> debian, as DIB_DISTRO names it


def element_packages(element: str, release: Release, elements_dir: Path = ELEMENTS_DIR) -> tuple[str, ...]:
    """The distro package names `element` installs on `release`: each generic name of its
    package-installs.yaml through pkg-map, first match of release, distro, family, default
    (diskimage-builder's order); an element without package-installs installs nothing."""
    installs_file = elements_dir / element / "package-installs.yaml"
    if not installs_file.is_file():
        return ()
    installs = yaml.safe_load(installs_file.read_text()) or {}
    map_file = elements_dir / element / "pkg-map"
    pkg_map = json.loads(map_file.read_text()) if map_file.is_file() else {}
    distro, family = dib_distro(release), DIB_FAMILY[release.family]
    scopes = [pkg_map.get("release", {}).get(distro, {}).get(release.diskimage.release, {}),
              pkg_map.get("distro", {}).get(distro, {}), pkg_map.get("family", {}).get(family, {}),
              pkg_map.get("default", {})]
    names: list[str] = []
    for generic in installs:
        mapped = next((scope[generic] for scope in scopes if generic in scope), generic)
        names.extend(mapped.split())
    return tuple(names)


def builder_packages(release: Release) -> tuple[str, ...]:
    """What every image of `release` gets before its role packages: the release's own
    dib.base_packages and the packages of kickbake's always-present elements (the first-boot
    agent's dependencies). Comps groups (@core) are left to the build, as in the lock."""
    names = {*release.diskimage.base_packages}
    for element in base_elements(release):
        names.update(element_packages(element, release))
    return tuple(sorted(n for n in names if not n.startswith("@")))
