"""What the build calls after writing an image: read the image's package database and write
<image>.manifest.json, <image>.spdx.json and <image>.cdx.json next to it, atomically."""

from __future__ import annotations

import gc
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kickbake.errors import BadInput
from kickbake.model.plan import SitePlan
from kickbake.paths import ELEMENTS_DIR
from kickbake.record.dpkg import STATUS, read_dpkg
from kickbake.record.inputs import input_hashes
from kickbake.record.licenses import enforce
from kickbake.record.lock import lock_sha256
from kickbake.record.manifest import (
    PURL_NAMESPACE,
    RecordContext,
    build_manifest,
    manifest_json,
    tree_sha256,
)
from kickbake.record.packages import PackageRecord
from kickbake.record.rpmdb import DBPATHS, read_installed_tsv, read_rpmdb

# what to pull out of a tar image: the package databases and the copyright files
_TAR_WANTED = (str(STATUS), "usr/share/doc/", *DBPATHS)


@dataclass(frozen=True)
class RecordPaths:
    manifest: Path
    spdx: Path
    cyclonedx: Path
    image_id: str
    packages: int  # how many the manifest lists


def context_for_image(site_plan: SitePlan, image: str, elements: tuple[str, ...] = (),
                      lock_path: Path | None = None, elements_dir: Path = ELEMENTS_DIR,
                      build_id: str = "") -> RecordContext:
    """The build's side of the record: inventory slice, input hashes, element hashes, lock hash,
    and the build id baked into the image (/etc/kickbake/image.json, recorded by first boot)."""
    site = site_plan.site
    definition = next((i for i in site.images if i.name == image), None)
    if definition is None:
        raise BadInput(f"image {image!r} is not in site {site.site}")
    nodes = [v for v in site_plan.nodes if set(v.node.roles) & set(definition.roles)]
    release = nodes[0].release if nodes else site_plan.inventory.releases[site.release]
    inventory_slice = {
        "image": definition.model_dump(mode="json"),
        "roles": {r: site.roles[r].model_dump(mode="json") for r in sorted(definition.roles) if r in site.roles},
        "nodes": sorted(v.hostname for v in nodes),
        "packages": sorted({p for v in nodes for p in v.packages}),
        "licenses": site.licenses.model_dump(mode="json"),
    }
    element_hashes = {e: tree_sha256(elements_dir / e) for e in sorted(elements) if (elements_dir / e).is_dir()}
    return RecordContext(
        site=site.site, image=image, release=release.name, distro=PURL_NAMESPACE[release.family],
        inputs=input_hashes(site_plan.inventory), inventory_slice=inventory_slice, elements=element_hashes,
        lock_sha256=lock_sha256(lock_path) if lock_path else None, build_id=build_id,
    )


def context_for_node(site_plan: SitePlan, hostname: str) -> RecordContext:
    """A kickstart-installed node: its own slice of the inventory instead of an image's."""
    view = next((v for v in site_plan.nodes if v.hostname == hostname), None)
    if view is None:
        raise BadInput(f"node {hostname!r} is not in site {site_plan.site.site}")
    inventory_slice = {
        "node": view.node.model_dump(mode="json"),
        "packages": list(view.packages),
        "licenses": site_plan.site.licenses.model_dump(mode="json"),
    }
    return RecordContext(
        site=site_plan.site.site, image=hostname, release=view.release.name,
        distro=PURL_NAMESPACE[view.release.family], inputs=input_hashes(site_plan.inventory),
        inventory_slice=inventory_slice, installed_by="kickstart",
    )


def _extract_databases(tar_path: Path, into: Path) -> Path:
    """Only the package databases and copyright files of a tar image (not the whole tree)."""
    with tarfile.open(tar_path) as archive:
        members = []
        for member in archive.getmembers():
            name = str(PurePosixPath(member.name.lstrip("./")))
            if name.startswith(_TAR_WANTED) and (member.isfile() or member.issym() or member.isdir()):
                member.name = name
                members.append(member)
        archive.extractall(into, members=members, filter="data")
    return into


def read_packages(root: Path) -> list[PackageRecord]:
    """The image root's packages from whichever database it has (dpkg or rpm)."""
    if (root / STATUS).is_file():
        return read_dpkg(root)
    return read_rpmdb(root)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The SBOM libraries allocate millions of small, short-lived objects for 1,000 packages and
    the cyclic collector re-scans the growing heap over and over (a third of the time, measured
    in bench/record_scale.py). Nothing here builds long-lived cycles: leave them to the next
    collection."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()  # the next automatic collection frees whatever cycles are left


def write_records(records: list[PackageRecord], context: RecordContext, image_file: Path | None,
                  out_dir: Path, also: tuple[Path, ...] = ()) -> RecordPaths:
    """Write the three files atomically (temporary names, then renames). `also`: the same
    image in other formats (qcow2 + tar from one build), hashed into the manifest too."""
    from kickbake.record.cyclonedx import cyclonedx_json  # the SBOM libraries load when a record is written
    from kickbake.record.spdx import spdx_json

    with _collector_paused():
        manifest = build_manifest(records, context, image_file, also)
        texts = {
            out_dir / f"{context.image}.manifest.json": manifest_json(manifest),
            out_dir / f"{context.image}.spdx.json": spdx_json(manifest, records),
            out_dir / f"{context.image}.cdx.json": cyclonedx_json(manifest, records),
        }
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, text in texts.items():
        path.with_name(path.name + ".tmp").write_text(text, encoding="utf-8")
    for path in texts:
        path.with_name(path.name + ".tmp").replace(path)
    paths = list(texts)
    return RecordPaths(paths[0], paths[1], paths[2], manifest["image_id"], len(records))


def _enforce(records: list[PackageRecord], context: RecordContext) -> None:
    deny = tuple(context.inventory_slice.get("licenses", {}).get("deny", ()))
    enforce(context.image, records, deny, f"sites/{context.site}.yml")


def record_image(image_root: Path, image_file: Path, context: RecordContext, also: tuple[Path, ...] = ()
                 ) -> RecordPaths:
    """After a build: `image_root` is the image's tree, its tar, or the copy of its package
    database the build made; files go next to image_file (`also`: the same image in other
    formats). The files are written first (to inspect), then the site's license policy is
    enforced (exit 2)."""
    if image_root.is_file():
        with tempfile.TemporaryDirectory(prefix="kickbake-record-") as temporary:
            records = read_packages(_extract_databases(image_root, Path(temporary)))
    else:
        records = read_packages(image_root)
    paths = write_records(records, context, image_file, image_file.parent, also)
    _enforce(records, context)
    return paths


def record_node(tsv: Path, context: RecordContext, out_dir: Path) -> RecordPaths:
    """A kickstart-installed node: the same three files from its installed-packages.tsv."""
    return record_node_packages(read_installed_tsv(tsv), context, out_dir)


def record_node_packages(records: list[PackageRecord], context: RecordContext, out_dir: Path,
                         policy_first: bool = False) -> RecordPaths:
    """An installed node's packages (its install report, or a TSV fetched from it). policy_first:
    refuse before writing (a refused install report must leave no record behind)."""
    if policy_first:
        _enforce(records, context)
    paths = write_records(records, context, None, out_dir)
    _enforce(records, context)
    return paths
