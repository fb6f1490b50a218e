"""Site-level record operations, one per task: record an image or a kickstart-installed node,
summarize licenses, mirror a lock."""

from __future__ import annotations

import email.utils
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kickbake.errors import BadInput, KickbakeError
from kickbake.model.catalog import load_releases
from kickbake.model.load import load_site
from kickbake.model.plan import plan
from kickbake.paths import OUTPUT_DIR, REPOS_DIR
from kickbake.progress import Progress
from kickbake.record.image import (
    RecordPaths,
    context_for_image,
    context_for_node,
    record_image,
    record_node,
)
from kickbake.record.licenses import enforce, summary
from kickbake.record.lock import load_lock, locked_repo_url
from kickbake.record.manifest import load_manifest, records_of
from kickbake.record.mirror import (
    MirrorResult,
    mirror_packages,
    mirror_signing_key,
    sign_release,
    write_deb_release,
)


def images_dir(site: str, out_root: Path) -> Path:
    return out_root / site / "images"


def record_site_image(site_path: str | Path, image: str, root: Path, image_file: Path,
                      elements: tuple[str, ...] = ()) -> RecordPaths:
    site_plan = plan(load_site(site_path))
    lock = REPOS_DIR / f"{site_plan.site.site}.lock"
    context = context_for_image(site_plan, image, elements, lock if lock.exists() else None)
    return record_image(root, image_file, context)


def record_site_node(site_path: str | Path, hostname: str, tsv: Path, out_root: Path = OUTPUT_DIR) -> RecordPaths:
    """A kickstart-installed node's installed-packages.tsv -> output/<site>/records/<node>.*.json
    (records/ is carried over when the site is rendered again, as images/ is)."""
    site_plan = plan(load_site(site_path))
    return record_node(tsv, context_for_node(site_plan, hostname), out_root / site_plan.site.site / "records")


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


@dataclass(frozen=True)
class MirrorLayout:
    """Where each locked repo goes under output/<site>/repos/: an rpm repo keeps its own
    directory; the Debian repos of one release (its suite, -updates, ...) become one repo named
    after the release, whose single suite holds every locked .deb, so debootstrap finds the whole
    base there and apt needs one source."""

    into: dict[str, str]  # repo -> directory
    deb_suites: dict[str, str]  # Debian directory -> suite
    arch: str = "amd64"

    def deb_index(self, directory: str) -> str:
        return f"dists/{self.deb_suites[directory]}/{DEB_COMPONENT}/binary-{self.arch}"


DEB_COMPONENT = "main"


def mirror_layout(lock: dict[str, Any]) -> MirrorLayout:
    releases = load_releases()
    into: dict[str, str] = {}
    suites: dict[str, str] = {}
    for entry in lock["images"].values():
        for repo in entry["repos"]:
            into[repo] = entry["release"] if entry["kind"] == "deb" else repo
        if entry["kind"] == "deb":
            suites[entry["release"]] = releases[entry["release"]].diskimage.release
    return MirrorLayout(into, suites)


def mirror_date(lock_path: Path) -> str:
    """The Release files' Date: SOURCE_DATE_EPOCH when set, else when the lock was written."""
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or lock_path.stat().st_mtime)
    return email.utils.formatdate(epoch, usegmt=True)


def mirror_site(site_path: str | Path, out_root: Path = OUTPUT_DIR, repos_dir: Path = REPOS_DIR,
                progress: Progress | None = None) -> MirrorResult:
    """Snapshot exactly the locked packages of every image into output/<site>/repos/ (see
    MirrorLayout), where ./kb serve and the nginx config publish them and `./kb build
    --from-mirror` builds from them with no other repo reachable. Debian repos are signed with
    the mirror's own key (their packages were checked against the lock's sha256 on download)."""
    site = load_site(site_path).site.site
    if not (out_root / site).is_dir():
        raise KickbakeError(f"{out_root / site} does not exist",
                            hint=f"render the site first: ./kb render --site {site}")
    lock_path = repos_dir / f"{site}.lock"
    lock = load_lock(lock_path)
    out = (out_root / site).resolve() / "repos"
    packages = [p for image in lock["images"].values() for p in image["packages"]]
    unique = {(p["repo"], p["location"]): p for p in packages}
    base_urls = {name: locked_repo_url(url)
                 for image in lock["images"].values() for name, url in image["repos"].items()}
    layout = mirror_layout(lock)
    deb_indexes = {directory: layout.deb_index(directory) for directory in layout.deb_suites}
    progress = progress or Progress.quiet()
    with progress.step(f"{site}: fetch and index {len(unique)} locked packages"):
        counts = mirror_packages(list(unique.values()), base_urls, out, deb_indexes, into=layout.into,
                                 note=progress.note)
    result = MirrorResult(site, out_root / site / "repos", counts)  # reported through the site's symlink
    if layout.deb_suites:
        key = mirror_signing_key(out.parent / "secrets" / "mirror-signing-key.asc", out / "kickbake-mirror.gpg",
                                 f"kickbake mirror {site}")
        for directory, suite in sorted(layout.deb_suites.items()):
            release = write_deb_release(out / directory, suite, (DEB_COMPONENT,), layout.arch, f"kickbake {site}",
                                        mirror_date(lock_path))
            sign_release(release, key)
        result.keyring = str(result.root / key.keyring.name)
    return result


def mirrored_repo(lock: dict[str, Any], image: str, repos_root: Path) -> tuple[str, str, Path]:
    """(directory, suite, keyring) of the signed Debian repo in repos_root that holds every locked
    package of `image`; refused, naming what is missing, when the snapshot does not cover the lock."""
    entry = lock["images"].get(image)
    if entry is None:
        raise KickbakeError(f"image {image} is not in the lock", hint="run ./kb lock --site S")
    if entry["kind"] != "deb":
        raise KickbakeError(f"image {image}: only Debian images build from the mirror")
    layout = mirror_layout(lock)
    directory = entry["release"]
    suite = layout.deb_suites[directory]
    keyring = repos_root / "kickbake-mirror.gpg"
    missing = [p["location"] for p in entry["packages"]
               if not (repos_root / layout.into.get(p["repo"], p["repo"]) / p["location"]).is_file()]
    signed = repos_root / directory / "dists" / suite / "InRelease"
    if missing or not signed.is_file() or not keyring.is_file():
        what = f"{len(missing)} locked packages (first: {missing[0]})" if missing else f"{signed} or {keyring}"
        raise KickbakeError(f"the mirror in {repos_root} lacks {what}",
                            hint=f"snapshot the lock first: ./kb mirror --site {lock['site']}")
    return directory, suite, keyring
