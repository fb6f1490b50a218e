"""Input-addressed images: an image's id is computed before it is built, from everything that goes
into it, so a build whose id matches a finished, verified build is skipped, and `./kb plan` can
say which input made an image stale.

The id covers: the release data the image is built from, the lock's pins (or their absence), the
content of kickbake's elements, the first-boot agent, each baked bundle, the image definition,
the build options (types, layout, the package sources in the environment) and the versions of
kickbake and diskimage-builder. The site's whole inputs digest is recorded beside it but left out:
a change to a node this image does not bake must not rebuild it.

The package layer (the image tree after every package is installed) has its own id, a subset of
these inputs: two images, or two sites, with the same packages share one cached layer."""

from __future__ import annotations

import hashlib
import json
import os
from importlib.metadata import version
from pathlib import Path
from typing import Any

from kickbake import __version__
from kickbake.build.spec import LAYER_ELEMENT, BuildSpec
from kickbake.firstboot.agent import bundle_hash
from kickbake.firstboot.installed import module_paths
from kickbake.hashing import sha256_file
from kickbake.model import SitePlan
from kickbake.paths import ELEMENTS_DIR

# environment variables that decide which packages (and which bytes of them) the image gets;
# the payload, cache and PATH entries are where things are, not what they are
PACKAGE_ENV = ("DIB_RELEASE", "DIB_DISTRIBUTION_MIRROR", "DIB_APT_SOURCES_CONF", "DIB_DEBIAN_COMPONENTS",
               "DIB_DEBOOTSTRAP_EXTRA_ARGS", "DIB_LOCAL_IMAGE", "KICKBAKE_BUILD_MIRROR", "KICKBAKE_NODE_MIRROR")
BUILD_ENV = (*PACKAGE_ENV, "DIB_IMAGE_SIZE")
# what a finished build adds to its record, or records beside the id: not inputs
OUTPUT_FIELDS = ("image_id", "inputs_digest", "package_source", "layer_id", "files", "manifest_id", "packages")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _tree_sha256(directory: Path) -> str:
    """sha256 over every file (relative path, mode, content) below `directory`. Not cached: a
    process that builds twice (a test session, a build loop) must see an element that changed in
    between (a cached hash gave a changed element the old image id)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() or p.is_symlink()):
        data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
        mode = path.lstat().st_mode & 0o777
        digest.update(f"{path.relative_to(directory)}\0{mode:o}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    return digest.hexdigest()


def elements_sha256(elements: tuple[str, ...], elements_dir: Path = ELEMENTS_DIR) -> dict[str, str]:
    """Content hash of each of kickbake's own elements the build uses (diskimage-builder's own
    elements are covered by its version)."""
    return {name: _tree_sha256(elements_dir / name) for name in elements if (elements_dir / name).is_dir()}


def agent_sha256(python: str) -> str:
    from kickbake.firstboot.installed import agent_text

    text = agent_text(python) + "".join(p.read_text() for p in module_paths()[1:])
    return sha256_text(text)


def tool_versions() -> dict[str, str]:
    return {"kickbake": __version__, "diskimage-builder": version("diskimage-builder")}


def layer_inputs(site_plan: SitePlan, spec: BuildSpec) -> dict[str, Any] | None:
    """What the package layer is made of; None when it cannot be cached: an unlocked build (the
    repos may move under it) or a build from the mirror snapshot (it must come from that alone)."""
    if spec.lock is None or LAYER_ELEMENT not in spec.elements:
        return None
    release = site_plan.node(spec.nodes[0]).release
    return {
        "release": release.name, "dib": release.dib, "layout": spec.layout, "elements": list(spec.elements),
        "element_sha256": elements_sha256(spec.elements), "pins_sha256": sha256_text("\n".join(spec.lock.pins)),
        "env": {k: spec.env[k] for k in PACKAGE_ENV if k in spec.env}, "tools": tool_versions(),
    }


def layer_id(site_plan: SitePlan, spec: BuildSpec) -> str | None:
    inputs = layer_inputs(site_plan, spec)
    return None if inputs is None else sha256_text(json.dumps(inputs, sort_keys=True))[:24]


def image_record(site_plan: SitePlan, spec: BuildSpec, bundles_dir: Path, digest: str,
                 lock_sha256: str | None) -> dict[str, Any]:
    """The image record (image.json) with its id, computed without building anything."""
    release = site_plan.node(spec.nodes[0]).release
    repos = [r.name for r in site_plan.node(spec.nodes[0]).repos]
    record: dict[str, Any] = {
        "site": spec.site, "image": spec.image.name, "bake": spec.image.bake.value, "release": spec.release,
        "elements": list(spec.elements), "layout": spec.layout, "nodes": list(spec.nodes), "repos": repos,
        "repo_definitions_sha256": sha256_text(json.dumps(
            [r.model_dump(mode="json") for r in site_plan.node(spec.nodes[0]).repos], sort_keys=True)),
        "bundles": {node: bundle_hash(str(bundles_dir / node)) for node in spec.baked_nodes},
        "agent_sha256": agent_sha256(release.firstboot.python), "lock_sha256": lock_sha256,
        "element_sha256": elements_sha256(spec.elements), "types": sorted(spec.types),
        "definition": spec.image.model_dump(mode="json"),
        "build_env": {k: spec.env[k] for k in BUILD_ENV if k in spec.env}, "tools": tool_versions(),
    }
    identity = sha256_text(json.dumps(record, sort_keys=True))[:16]
    record["image_id"] = f"{spec.image.name}-{identity}"
    # recorded, outside the id: the site's whole inputs (a change elsewhere does not rebuild this
    # image), where the packages came from (the lock's sha256s make both sources equal), the layer
    record["inputs_digest"] = digest
    record["package_source"] = "mirror" if "KICKBAKE_BUILD_MIRROR" in spec.env else "repos"
    record["layer_id"] = layer_id(site_plan, spec)
    return record


def changed_inputs(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Which inputs differ between two image records, named: 'bundles.drbd-node1', 'lock_sha256'."""
    changes: list[str] = []
    for key in sorted(set(old) | set(new)):
        if key in OUTPUT_FIELDS:
            continue
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict):
            changes.extend(f"{key}.{k}" for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k))
        else:
            changes.append(key)
    return changes


def file_fingerprint(path: Path) -> dict[str, Any]:
    """What a finished build's file looked like: sha256 plus the stat that lets a later check skip
    re-hashing gigabytes when nothing touched the file."""
    stat = path.stat()
    return {"sha256": sha256_file(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}


def unverified(images_dir: Path, record: dict[str, Any]) -> str | None:
    """None when every file the build recorded is there as it was written; else what is wrong."""
    files = record.get("files")
    if not files:
        return "the last build recorded no files (built before image ids)"
    for name, expected in sorted(files.items()):
        path = images_dir / name
        if not path.is_file():
            return f"{name} is missing"
        stat = path.stat()
        if (stat.st_size, stat.st_mtime_ns, stat.st_ino) == (expected["size"], expected["mtime_ns"],
                                                             expected["inode"]):
            continue  # untouched since the build hashed it
        if file_fingerprint(path)["sha256"] != expected["sha256"]:
            return f"{name} changed since it was built (sha256 differs)"
    return None
