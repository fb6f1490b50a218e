"""Build stage: bake node images with diskimage-builder.

`build_images()` turns each image of a site plan into a BuildSpec (elements + environment), fills
a payload (image record, repos, baked bundles, first-boot agent), runs disk-image-create and puts
output/<site>/images/<image>.<type> in place atomically with the build log and DIB's manifests."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kickbake.build.dib import run_dib
from kickbake.build.payload import write_payload
from kickbake.build.spec import BuildSpec, build_spec, image_named
from kickbake.errors import KickbakeError
from kickbake.model import SitePlan
from kickbake.progress import Progress
from kickbake.record.image import context_for_image, record_image
from kickbake.record.inputs import input_hashes, inputs_digest


@dataclass
class BuildResult:
    site: str
    image: str
    command: str  # the exact disk-image-create command with its environment
    files: list[str] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    dry_run: bool = False


def record_built_image(site_plan: SitePlan, spec: BuildSpec, result: BuildResult, images_dir: Path) -> None:
    """THE hook for the record stage: manifest, SPDX and CycloneDX beside the image. They are read
    from the image's own package database, which kickbake reads from the `tar` output; images
    built without `tar` keep DIB's manifests in <image>.d/dib-manifests/ only (say so)."""
    tar = images_dir / f"{spec.image.name}.tar"
    if "tar" not in spec.types or not tar.is_file():
        result.record["sbom"] = "not recorded: build with --type tar to get manifest + SBOMs"
        return
    context = context_for_image(site_plan, spec.image.name, tuple(spec.elements))
    paths = record_image(tar, tar, context)
    result.files.extend(str(p) for p in (paths.manifest, paths.spdx, paths.cyclonedx))
    result.record["image_id"] = paths.image_id


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
    spec.env["PATH"] = dib_path()
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


def build_images(site_plan: SitePlan, out_root: Path, image: str | None = None, types: tuple[str, ...] = (),
                 layout: str = "", dry_run: bool = False, progress: Progress | None = None) -> list[BuildResult]:
    """Build one image of the site (or all of them); with dry_run only say what would run."""
    progress = progress or Progress.quiet()
    results = []
    for chosen in image_named(site_plan, image):
        payload = out_root.resolve() / site_plan.site.site / "images" / f".{chosen.name}.payload"
        spec = build_spec(site_plan, chosen, types, layout, payload)
        if dry_run:
            results.append(BuildResult(spec.site, chosen.name, spec.command_text(Path(chosen.name)), dry_run=True))
            continue
        results.append(_build_one(site_plan, spec, out_root, progress))
    return results
