"""The pkg-map files of kickbake's elements, generated from the release data.

A release's package names live once, in src/kickbake/releases/<release>.yml: `packages` per
feature and `firstboot.packages` for the first-boot agent. Each element's pkg-map (the JSON
diskimage-builder's package-installs reads) gets one release section per release from there:
`./kb pkgmaps` writes them, `./kb pkgmaps --check` (and the tests) fail when one is stale."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kickbake.build.spec import FEATURE_ELEMENTS
from kickbake.elements import dib_distro
from kickbake.errors import BadInput
from kickbake.model.catalog import Release, load_releases
from kickbake.paths import ELEMENTS_DIR

FIRSTBOOT = "firstboot.packages"  # a source that is not a feature: the agent's dependencies
BASE_ELEMENT = "kickbake-base"  # every image: the base feature and what the agent runs on
# features that ride along with the element of another: the RDO repo package goes wherever Nova
# goes (plan.features_of adds openstack-repo beside openstack-<role>)
RIDERS = {"openstack-repo": ("openstack-controller", "openstack-compute")}


def element_sources() -> dict[str, dict[str, tuple[str, ...]]]:
    """element -> generic name (its package-installs.yaml) -> where the names come from in a
    release: features in order, or FIRSTBOOT. A role element's generic name is kickbake-<element>
    and holds the features build.spec.FEATURE_ELEMENTS bakes with it."""
    sources: dict[str, dict[str, tuple[str, ...]]] = {BASE_ELEMENT: {"kickbake-base": ("base",),
                                                                     "kickbake-agent-deps": (FIRSTBOOT,)}}
    for feature, element in FEATURE_ELEMENTS.items():
        generics = sources.setdefault(element, {})
        generic = f"kickbake-{element}"
        generics[generic] = (*generics.get(generic, ()), feature)
    for rider, features in RIDERS.items():
        for element in {FEATURE_ELEMENTS[f] for f in features}:
            sources[element][f"kickbake-{rider}"] = (rider,)
    return sources


def release_names(release: Release, source: tuple[str, ...]) -> str:
    """What one generic name maps to on `release`: a release without the feature installs nothing."""
    names = [p for s in source for p in (release.firstboot.packages if s == FIRSTBOOT else release.packages.get(s, ()))]
    return " ".join(names)


def pkg_map(generics: dict[str, tuple[str, ...]], releases: Iterable[Release]) -> dict[str, Any]:
    """The element's pkg-map: an empty default for each generic name (a release not listed
    installs nothing, as diskimage-builder would otherwise install the generic name itself) and
    one section per release, keyed the way diskimage-builder's pkg-map looks them up."""
    sections: dict[str, dict[str, dict[str, str]]] = {}
    for release in releases:
        section = {generic: release_names(release, source) for generic, source in generics.items()}
        sections.setdefault(dib_distro(release), {})[release.diskimage.release] = section
    return {"default": {generic: "" for generic in generics}, "release": sections}


def pkg_map_texts(elements_dir: Path = ELEMENTS_DIR) -> dict[Path, str]:
    releases = load_releases().values()
    return {elements_dir / element / "pkg-map": json.dumps(pkg_map(generics, releases), indent=2, sort_keys=True) + "\n"
            for element, generics in element_sources().items()}


def write_pkg_maps(check: bool = False, elements_dir: Path = ELEMENTS_DIR) -> list[Path]:
    """Write every element's pkg-map from the release data; with `check`, write nothing and fail
    naming the stale ones. Returns the files that were (or would be) rewritten."""
    stale = [path for path, text in pkg_map_texts(elements_dir).items()
             if not path.is_file() or path.read_text() != text]
    if check:
        if stale:
            raise BadInput(f"out of date: {', '.join(str(p) for p in stale)}",
                           hint="the release data holds the package names: run ./kb pkgmaps")
        return stale
    for path, text in pkg_map_texts(elements_dir).items():
        if path in stale:
            path.write_text(text)
    return stale
