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
from kickbake.build.identity import changed_inputs, file_fingerprint, layer_inputs, unverified
from kickbake.build.layers import prune, tarball, use_or_save
from kickbake.build.payload import build_record, write_payload
from kickbake.build.reproducible import reproducible_env
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
    cached: bool = False  # a finished build with the same image id was found: nothing was built
    layer: str = ""  # "cached <id>" (started from the package layer), "saved <id>", or "" (none)


@dataclass(frozen=True)
class BuildOptions:
    """What `./kb build` was asked for."""

    image: str | None = None  # one image of the site (None: all)
    types: tuple[str, ...] = ()  # override the image's types
    layout: str = ""  # vm or baremetal (default: what this host can build)
    dry_run: bool = False  # only the exact disk-image-create commands
    lock_path: Path | None = None  # default repos/<site>.lock
    from_mirror: bool = False  # ./kb mirror's snapshot of the lock alone (an offline rebuild)
    force: bool = False  # rebuild even when a finished build with the same image id is there


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


def previous_record(images_dir: Path, image: str) -> dict[str, Any] | None:
    path = images_dir / f"{image}.image.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def up_to_date(images_dir: Path, record: dict[str, Any]) -> tuple[bool, str]:
    """(True, id) when the last build of this image had the same id and its files are intact;
    else (False, why it is stale)."""
    old = previous_record(images_dir, record["image"])
    if old is None:
        return False, "never built"
    if old.get("image_id") != record["image_id"]:
        changed = changed_inputs(old, record)
        return False, "changed: " + (", ".join(changed) if changed else "the image id")
    problem = unverified(images_dir, old)
    return (False, problem) if problem else (True, record["image_id"])


def _fingerprints(images_dir: Path, result: BuildResult) -> dict[str, Any]:
    names = [Path(f).name for f in result.files if Path(f).is_file() and not f.endswith(".build.log")]
    return {name: file_fingerprint(images_dir / name) for name in sorted(names)
            if name.endswith((".qcow2", ".raw", ".tar", ".vmlinuz", ".initrd", ".manifest.json"))}


def _build_one(site_plan: SitePlan, spec: BuildSpec, out_root: Path, progress: Progress,
               force: bool = False) -> BuildResult:
    bundles_dir, images_dir = _site_dirs(out_root, spec.site)
    images_dir.mkdir(parents=True, exist_ok=True)
    payload = images_dir / f".{spec.image.name}.payload"
    digest = inputs_digest(input_hashes(site_plan.inventory))
    record = build_record(site_plan, spec, bundles_dir, digest)
    fresh, why = up_to_date(images_dir, record)
    if fresh and not force:
        progress.note(f"{spec.site}: {spec.image.name}: up to date ({why}): not rebuilt (--force rebuilds)")
        old = previous_record(images_dir, spec.image.name) or {}
        return BuildResult(spec.site, spec.image.name, spec.command_text(Path(spec.image.name)),
                           [str(images_dir / name) for name in sorted(old.get("files", {}))], old, 0.0, cached=True)
    progress.note(f"{spec.site}: {spec.image.name}: building {record['image_id']} ({'forced' if fresh else why})")
    layer = ""
    inputs = layer_inputs(site_plan, spec)
    if record["layer_id"] and inputs is not None:
        reused = use_or_save(spec, record["layer_id"], inputs)
        layer = f"{'cached' if reused else 'saved'} {record['layer_id']}"
        progress.note(f"{spec.site}: {spec.image.name}: package layer {record['layer_id']} "
                      + ("from the cache" if reused else "not cached yet: this build saves it"))
    write_payload(site_plan, spec, bundles_dir, payload, record)
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
                         record, round(time.monotonic() - start, 1), layer=layer)
    record_built_image(site_plan, spec, result, images_dir)
    # written last: an image.json with `files` says the build finished and what it wrote
    record = {**record, "files": _fingerprints(images_dir, result)}
    record_tmp = images_dir / f".{spec.image.name}.image.json.tmp"
    record_tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    record_tmp.rename(images_dir / f"{spec.image.name}.image.json")
    result.record = {**record, **{k: v for k, v in result.record.items() if k not in record}}
    if layer.startswith("saved"):
        for evicted in prune(keep={record["layer_id"]}):
            progress.note(f"layer cache: evicted {evicted.layer} ({evicted.size >> 20} MiB, least recently used)")
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


def build_images(site_plan: SitePlan, out_root: Path, options: BuildOptions,
                 progress: Progress | None = None) -> list[BuildResult]:
    """Build one image of the site (or all of them); with dry_run only say what would run.
    With a lock (repos/<site>.lock unless lock_path says otherwise) the build installs its pins;
    from_mirror builds from ./kb mirror's snapshot of that lock alone (an offline rebuild)."""
    progress = progress or Progress.quiet()
    site = site_plan.site.site
    image, types, layout, dry_run = options.image, options.types, options.layout, options.dry_run
    from_mirror, force = options.from_mirror, options.force
    lock_path = options.lock_path or REPOS_DIR / f"{site}.lock"
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
            spec.env.update(reproducible_env(spec))  # SOURCE_DATE_EPOCH from the release and pins
            if dry_run:
                results.append(BuildResult(spec.site, chosen.name, spec.command_text(Path(chosen.name)),
                                           dry_run=True))
                continue
            results.append(_build_one(site_plan, spec, out_root, progress, force))
    return results


@dataclass
class ImagePlan:
    """One image of `./kb plan`: what a build would do, and why."""

    site: str
    image: str
    image_id: str
    layer_id: str | None
    layer_cached: bool
    state: str  # "built" (up to date) or "stale"
    why: str
    command: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def plan_images(site_plan: SitePlan, bundles_dir: Path, images_dir: Path, site_path: str,
                lock_path: Path | None = None) -> list[ImagePlan]:
    """Per image of the site: its id (from `bundles_dir`, freshly rendered), its layer, and whether
    output/<site>/images/ holds that build; nothing is built or written."""
    lock_path = lock_path or REPOS_DIR / f"{site_plan.site.site}.lock"
    digest = inputs_digest(input_hashes(site_plan.inventory))
    plans = []
    for chosen in image_named(site_plan, None):
        spec = build_spec(site_plan, chosen, lock=locked_set(site_plan, chosen.name, lock_path))
        record = build_record(site_plan, spec, bundles_dir, digest)
        fresh, why = up_to_date(images_dir, record)
        layer = record["layer_id"]
        plans.append(ImagePlan(site_plan.site.site, chosen.name, record["image_id"], layer,
                               bool(layer) and tarball(spec, layer).is_file(), "built" if fresh else "stale",
                               "" if fresh else why, f"./kb build --site {site_path} --image {chosen.name}"))
    return plans
