"""Build stage: bake node images with diskimage-builder.

`build_images()` turns each image of a site plan into a BuildSpec (elements + environment), fills
a payload (image record, repos, baked bundles, first-boot agent), runs disk-image-create and puts
output/<site>/images/<image>.<type> in place atomically with the build log and DIB's manifests."""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kickbake.build.dib import run_dib
from kickbake.build.payload import write_payload
from kickbake.build.spec import (
    BuildSpec,
    LockedSet,
    MirrorSource,
    build_spec,
    image_named,
    package_db_path,
    require_debian_for_mirror,
)
from kickbake.errors import BadInput, KickbakeError, Problem
from kickbake.model import SitePlan
from kickbake.paths import REPOS_DIR
from kickbake.progress import Progress
from kickbake.record.image import context_for_image, record_image
from kickbake.record.inputs import input_hashes, inputs_digest
from kickbake.record.lock import image_requests, load_lock, lock_matches, pinned_packages
from kickbake.record.site import mirrored_repo
from kickbake.render.pxe_view import base_url as pxe_base_url
from kickbake.serve import make_server


@dataclass
class BuildResult:
    site: str
    image: str
    command: str  # the exact disk-image-create command with its environment
    files: list[str] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    dry_run: bool = False


IMAGE_FILE_ORDER = ("qcow2", "raw", "tar")  # the manifest's image file: the first one built


def record_built_image(site_plan: SitePlan, spec: BuildSpec, result: BuildResult, images_dir: Path) -> None:
    """THE hook for the record stage: manifest, SPDX and CycloneDX beside the image, read from
    the copy of the image's own package database that kickbake-record made at cleanup.d (so
    every image type is recorded). The site's license policy is enforced after writing them."""
    package_db = Path(spec.env["KICKBAKE_PACKAGE_DB"])
    built = [images_dir / f"{spec.image.name}.{t}" for t in IMAGE_FILE_ORDER if t in spec.types]
    files = [f for f in built if f.is_file()]
    context = context_for_image(site_plan, spec.image.name, tuple(spec.elements),
                                spec.lock.path if spec.lock else None, build_id=result.record["image_id"])
    try:
        if not package_db.is_dir():
            raise KickbakeError(f"the build left no package database in {package_db}",
                                hint="the kickbake-record element copies it at cleanup.d; see the build log")
        if not files:
            raise KickbakeError(f"{spec.image.name}: no image file among {', '.join(str(b) for b in built)}")
        paths = record_image(package_db, files[0], context, also=tuple(files[1:]))
    finally:
        shutil.rmtree(package_db, ignore_errors=True)
    result.files.extend(str(p) for p in (paths.manifest, paths.spdx, paths.cyclonedx))
    result.record["manifest_id"] = paths.image_id
    result.record["packages"] = paths.packages


def locked_set(site_plan: SitePlan, image: str, lock_path: Path) -> LockedSet | None:
    """The image's pins from the site's lock; None when the site has no lock (an unlocked build).
    A lock made for another package set is refused: building from it would not be what it says."""
    if not lock_path.exists():
        return None
    lock = load_lock(lock_path)
    request = next((r for r in image_requests(site_plan) if r.image == image), None)
    entry = lock["images"].get(image)
    if request is None:
        return None
    if entry is None or not lock_matches(entry, request):
        raise BadInput(Problem(str(lock_path), 0, f"images.{image}.requested",
                               f"the lock of image {image} is stale: the site (or its release's image builder "
                               "base) asks for another package set",
                               f"re-lock: ./kb lock --site {site_plan.site.site}"))
    return LockedSet(lock_path, entry["kind"], tuple(pinned_packages(lock, image)))


def dib_path() -> str:
    """disk-image-create and its helpers (dib-block-device, ...) live next to this Python."""
    return f"{Path(sys.executable).parent}:{Path('/usr/sbin')}:{Path('/sbin')}:" + os.environ.get("PATH", "")


def _site_dirs(out_root: Path, site: str) -> tuple[Path, Path]:
    site_dir = (out_root / site).resolve()
    if not site_dir.is_dir():
        raise KickbakeError(f"{site_dir} does not exist", hint="render the site first: ./kb render --site ...")
    return site_dir / "nodes", site_dir / "images"


def _build_one(site_plan: SitePlan, spec: BuildSpec, out_root: Path, progress: Progress) -> BuildResult:
    bundles_dir, images_dir = _site_dirs(out_root, spec.site)
    images_dir.mkdir(parents=True, exist_ok=True)
    payload = images_dir / f".{spec.image.name}.payload"
    digest = inputs_digest(input_hashes(site_plan.inventory))
    record = write_payload(site_plan, spec, bundles_dir, payload, digest)
    spec.env["KICKBAKE_PAYLOAD"] = str(payload)
    spec.env["KICKBAKE_PACKAGE_DB"] = str(package_db_path(payload))
    spec.env["PATH"] = dib_path()
    shutil.rmtree(spec.env["KICKBAKE_PACKAGE_DB"], ignore_errors=True)
    if spec.lock is None:
        progress.note(f"{spec.site}: {spec.image.name}: no lock: an unlocked build (./kb lock --site ... pins it)")
    log_tmp = images_dir / f".{spec.image.name}.build.log.tmp"
    start = time.monotonic()
    try:
        with progress.step(f"{spec.site}: disk-image-create {spec.image.name} ({','.join(spec.types)})"):
            files = run_dib(spec, images_dir, log_tmp, progress.note)
    finally:
        shutil.rmtree(payload, ignore_errors=True)
        if log_tmp.exists():
            log_tmp.rename(images_dir / f"{spec.image.name}.build.log")
    result = BuildResult(spec.site, spec.image.name, spec.command_text(Path(spec.image.name)),
                         [str(f) for f in files] + [str(images_dir / f"{spec.image.name}.build.log")],
                         record, round(time.monotonic() - start, 1))
    record_tmp = images_dir / f".{spec.image.name}.image.json.tmp"
    record_tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    record_tmp.rename(images_dir / f"{spec.image.name}.image.json")
    record_built_image(site_plan, spec, result, images_dir)
    return result


@contextmanager
def mirror_server(out_root: Path, site: str, dry_run: bool = False) -> Iterator[str]:
    """The site's published repos/ (./kb mirror's snapshot) on 127.0.0.1 for one build; the chroot
    shares the host's network, so debootstrap and apt inside it reach the same address."""
    if dry_run:
        yield f"http://127.0.0.1:PORT/{site}/repos/"
        return
    with open(os.devnull, "w") as quiet:
        server = make_server(out_root, site, "127.0.0.1", 0, log_stream=quiet)
        thread = threading.Thread(target=server.serve_forever, name="kickbake-mirror", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}/{site}/repos/"
        finally:
            server.shutdown()
            server.server_close()


def _mirror_source(site_plan: SitePlan, lock_path: Path, image: str, repos_root: Path,
                   base_url: str) -> MirrorSource:
    """The snapshot's repo for this build, and for the nodes the same repo on the site's PXE
    server (./kb serve and the nginx config publish output/<site>/repos/ there)."""
    directory, suite, keyring = mirrored_repo(load_lock(lock_path), image, repos_root)
    pxe = site_plan.site.pxe
    node_url = f"{pxe_base_url(pxe)}/{site_plan.site.site}/repos/{directory}/" if pxe else ""
    return MirrorSource(f"{base_url}{directory}/", suite, keyring, node_url)


def build_images(site_plan: SitePlan, out_root: Path, image: str | None = None, types: tuple[str, ...] = (),
                 layout: str = "", dry_run: bool = False, progress: Progress | None = None,
                 lock_path: Path | None = None, from_mirror: bool = False) -> list[BuildResult]:
    """Build one image of the site (or all of them); with dry_run only say what would run.
    With a lock (repos/<site>.lock unless lock_path says otherwise) the build installs its pins;
    from_mirror builds from ./kb mirror's snapshot of that lock alone (an offline rebuild)."""
    progress = progress or Progress.quiet()
    site = site_plan.site.site
    lock_path = lock_path or REPOS_DIR / f"{site}.lock"
    results = []
    for chosen in image_named(site_plan, image):
        payload = out_root.resolve() / site / "images" / f".{chosen.name}.payload"
        if from_mirror:
            require_debian_for_mirror(site_plan, chosen)
        locked = locked_set(site_plan, chosen.name, lock_path)
        if from_mirror and locked is None:
            raise KickbakeError(f"image {chosen.name}: a build from the mirror needs the site's lock ({lock_path})",
                                hint=f"./kb lock --site {site}, then ./kb mirror --site {site}")
        with mirror_server(out_root, site, dry_run) if from_mirror else nullcontext("") as base_url:
            mirror = _mirror_source(site_plan, lock_path, chosen.name, out_root.resolve() / site / "repos",
                                    base_url) if from_mirror else None
            spec = build_spec(site_plan, chosen, types, layout, payload, locked, mirror)
            if dry_run:
                results.append(BuildResult(spec.site, chosen.name, spec.command_text(Path(chosen.name)),
                                           dry_run=True))
                continue
            results.append(_build_one(site_plan, spec, out_root, progress))
    return results
