"""Site-level record operations, one per task: record an image or a kickstart-installed node,
summarize licenses, mirror a lock."""

from __future__ import annotations

from pathlib import Path

from kickbake.errors import BadInput
from kickbake.model.load import load_site
from kickbake.model.plan import plan
from kickbake.paths import OUTPUT_DIR, REPOS_DIR
from kickbake.record.image import (
    RecordPaths,
    context_for_image,
    context_for_node,
    record_image,
    record_node,
)
from kickbake.record.licenses import enforce, summary
from kickbake.record.lock import deb_index_dir, load_lock, locked_repo_url
from kickbake.record.manifest import load_manifest, records_of
from kickbake.record.mirror import MirrorResult, mirror_packages


def images_dir(site: str, out_root: Path) -> Path:
    return out_root / site / "images"


def record_site_image(site_path: str | Path, image: str, root: Path, image_file: Path,
                      elements: tuple[str, ...] = ()) -> RecordPaths:
    site_plan = plan(load_site(site_path))
    lock = REPOS_DIR / f"{site_plan.site.site}.lock"
    context = context_for_image(site_plan, image, elements, lock if lock.exists() else None)
    return record_image(root, image_file, context)


def record_site_node(site_path: str | Path, hostname: str, tsv: Path, out_root: Path = OUTPUT_DIR) -> RecordPaths:
    """A kickstart-installed node's installed-packages.tsv -> output/<site>/nodes/<node>.*.json."""
    site_plan = plan(load_site(site_path))
    return record_node(tsv, context_for_node(site_plan, hostname), out_root / site_plan.site.site / "nodes")


def site_licenses(site_path: str | Path, out_root: Path = OUTPUT_DIR) -> dict[str, dict[str, int]]:
    """Per recorded image (and node) of the site: license expression -> package count. Raises
    BadInput (exit 2) naming every package whose license the site's licenses.deny forbids."""
    inventory = load_site(site_path)
    site = inventory.site
    manifests = sorted((out_root / site.site).rglob("*.manifest.json")) if (out_root / site.site).exists() else []
    if not manifests:
        raise BadInput(f"no manifests under {out_root / site.site}", hint="build the images (or ./kb record) first")
    result = {}
    for path in manifests:
        manifest = load_manifest(path)
        records = records_of(manifest)
        enforce(manifest["image"], records, site.licenses.deny, inventory.source.name)
        result[manifest["image"]] = summary(records)
    return result


def mirror_site(site_path: str | Path, out_root: Path = OUTPUT_DIR) -> MirrorResult:
    """Snapshot exactly the locked packages of every image into output/<site>/mirror/<repo>/."""
    inventory = load_site(site_path)
    site = inventory.site
    lock = load_lock(REPOS_DIR / f"{site.site}.lock")
    out = out_root / site.site / "mirror"
    packages = [p for image in lock["images"].values() for p in image["packages"]]
    unique = {(p["repo"], p["location"]): p for p in packages}
    repos = {name: url for image in lock["images"].values() for name, url in image["repos"].items()}
    base_urls = {name: locked_repo_url(url) for name, url in repos.items()}
    deb_indexes = {name: deb_index_dir(inventory.repos[name]) for name in repos
                   if name in inventory.repos and inventory.repos[name].kind == "deb"}
    return MirrorResult(site.site, out, mirror_packages(list(unique.values()), base_urls, out, deb_indexes))
