"""What the tasks call: each command opens its site(s) once and runs the pipeline's stages on it.

`site` arguments are an inventory path, or None for every bundled lab. The demo's policy (which
image it bakes, when it skips the build) lives here too."""

from __future__ import annotations

import difflib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kickbake import pipeline
from kickbake.errors import BadInput, KickbakeError, Problem
from kickbake.paths import BUNDLED_SITES, LOCKS_DIR, OUTPUT_DIR, PROJECT_ROOT, SITE_PROJECT, SITES_DIR
from kickbake.pipeline import SiteResult
from kickbake.progress import Progress
from kickbake.siterun import SiteRun, open_site
from kickbake.validate.tools import FileCheck

if TYPE_CHECKING:  # the build stage loads when a command builds (fast start: bench/cli_start.py)
    from kickbake.build import BuildResult, ImagePlan

DEMO_BUILD_SITE = "lab-debian"
DEMO_BUILD_IMAGE = "storage-node"
BUILD_HOST_TOOLS = ("debootstrap", "qemu-img", "mksquashfs", "sudo", "sgdisk", "kpartx")


def bundled_sites() -> list[Path]:
    """The labs kickbake carries (sites/ of its own tree); ./kb demo runs on these."""
    return [SITES_DIR / f"{name}.yml" for name in BUNDLED_SITES]


def default_sites() -> list[Path]:
    """The sites a command without --site runs on: every sites/*.yml of a site project, the
    bundled labs when the project is kickbake's own tree."""
    if SITE_PROJECT.resolve() == PROJECT_ROOT.resolve():
        return bundled_sites()
    found = sorted((SITE_PROJECT / "sites").glob("*.yml"))
    if not found:
        raise BadInput(f"{SITE_PROJECT}: no sites/*.yml in this project", hint="name one with --site FILE")
    return found


def _runs(site: str | Path | None, out_root: Path, progress: Progress | None,
          defaults: Callable[[], list[Path]] = default_sites) -> list[SiteRun]:
    if site is not None and not str(site):
        raise BadInput("--site is empty", hint="name an inventory file, or leave --site out for every bundled lab")
    paths = [Path(site)] if site is not None else defaults()
    return [open_site(path, out_root, progress) for path in paths]


def render_site(site_path: str | Path, out_root: Path = OUTPUT_DIR, progress: Progress | None = None,
                netboot: dict[str, str] | None = None) -> SiteResult:
    """Render one site into output/<site>/, atomically."""
    return pipeline.render(open_site(site_path, out_root, progress), netboot)


def render_sites(site: str | Path | None, out_root: Path = OUTPUT_DIR,
                 progress: Progress | None = None, regenerate_secrets: bool = False) -> list[SiteResult]:
    """Render one site, or every bundled site when `site` is None."""
    return [pipeline.render(run, regenerate_secrets=regenerate_secrets) for run in _runs(site, out_root, progress)]


def validate_sites(site: str | Path | None) -> list[SiteResult]:
    return [pipeline.validate(run) for run in _runs(site, OUTPUT_DIR, None)]


def show_node(site_path: str | Path, node: str) -> SiteResult:
    """One node of a site, validated (rendered into a scratch directory): its summary and details."""
    result = pipeline.validate(open_site(site_path, OUTPUT_DIR))
    found = [n for n in result.nodes if n.node == node]
    if not found:
        names = [n.node for n in result.nodes]
        close = difflib.get_close_matches(node, names, n=1)
        raise BadInput(f"{site_path}: no node {node!r}",
                       hint=f"did you mean {close[0]}?" if close else f"its nodes: {', '.join(names)}")
    result.nodes = found
    return result


def pxe_sites(site: str | Path | None, out_root: Path = OUTPUT_DIR,
              progress: Progress | None = None) -> list[SiteResult]:
    """Render sites for their PXE tree. pxe/ is part of the atomically swapped output generation,
    so this renders everything; a site without a `pxe:` section is an error here."""
    runs = _runs(site, out_root, progress)
    for run in runs:
        if run.plan.site.pxe is None:
            raise BadInput(Problem(str(run.source), 0, "pxe", "the site has no pxe: section",
                                   "add pxe: {server: ..., network: ...}"))
    return [pipeline.render(run) for run in runs]


def validate_real_tools(site: str | Path | None, progress: Progress | None = None) -> list[FileCheck]:
    return [check for run in _runs(site, OUTPUT_DIR, progress) for check in pipeline.real_tool_checks(run)]


def build_site(site_path: str | Path, image: str | None = None, types: tuple[str, ...] = (), layout: str = "",
               dry_run: bool = False, out_root: Path = OUTPUT_DIR,
               progress: Progress | None = None, lock_path: Path | None = None,
               from_mirror: bool = False, force: bool = False) -> list[BuildResult]:
    """Render the site, then build its images, installing exactly the pins of repos/<site>.lock
    (or lock_path) when there is one; with from_mirror, from ./kb mirror's snapshot of that lock
    and nothing else (an offline rebuild); with dry_run only the exact commands."""
    from kickbake.build import BuildOptions

    run = open_site(site_path, out_root, progress)
    lock = lock_path or LOCKS_DIR / f"{run.site}.lock"
    return pipeline.build(run, BuildOptions(image, types, layout, dry_run, lock, from_mirror, force))


def plan_site(site_path: str | Path, out_root: Path = OUTPUT_DIR, lock_path: Path | None = None) -> list[ImagePlan]:
    run = open_site(site_path, out_root)
    return pipeline.plan_builds(run, lock_path or LOCKS_DIR / f"{run.site}.lock")


def missing_build_tools() -> list[str]:
    from kickbake.build import dib_path

    missing = [tool for tool in BUILD_HOST_TOOLS if shutil.which(tool, path=dib_path()) is None]
    if shutil.which("disk-image-create", path=dib_path()) is None:
        missing.insert(0, "disk-image-create")
    if os.geteuid() != 0:
        missing.append("root (diskimage-builder mounts and chroots)")
    return missing


def demo_build(out_root: Path = OUTPUT_DIR, progress: Progress | None = None,
               run: SiteRun | None = None) -> tuple[list[BuildResult], str]:
    """./kb demo's build step: install what the build needs (as root, from Debian), then bake the
    lab-debian storage-node image; a host that cannot is an error saying what to install."""
    from kickbake.build import BuildOptions
    from kickbake.devtools import DEMO_TOOLS, install_system_tools
    from kickbake.record.lock import lock_site

    still = install_system_tools(DEMO_TOOLS, "kb demo")
    missing = missing_build_tools()
    if missing or still:
        raise KickbakeError(f"the demo bakes the {DEMO_BUILD_SITE} image, and this host lacks "
                            f"{', '.join([*missing, *still])}",
                            hint=f"run ./kb demo as root on Debian (it installs them), apt-get install "
                                 f"{' '.join(sorted(set(DEMO_TOOLS.values())))}, or ./kb demo --no-build")
    run = run or open_site(SITES_DIR / f"{DEMO_BUILD_SITE}.yml", out_root, progress)
    # the lab's lock follows this host's Debian mirror, so it is made here (kept when current)
    with run.progress.step(f"{DEMO_BUILD_SITE}: lock the image package sets"):
        locked = lock_site(run.source, repos_dir=LOCKS_DIR)
    results = pipeline.build_rendered(run, BuildOptions(image=DEMO_BUILD_IMAGE,
                                                        lock_path=LOCKS_DIR / f"{DEMO_BUILD_SITE}.lock"))
    built = ", ".join(f"{r.image} up to date" if r.cached else
                      f"{r.image} in {r.seconds:.0f}s ({r.record.get('packages', 0)} packages recorded)"
                      for r in results)
    return results, f"built {DEMO_BUILD_SITE} {built}, installing {locked.path}'s pins"


@dataclass
class DemoResult:
    sites: list[SiteResult]
    builds: list[BuildResult]
    build_note: str


def demo(out_root: Path = OUTPUT_DIR, build: bool = True, progress: Progress | None = None) -> DemoResult:
    """The main job: render + validate every bundled site, then bake the lab-debian image when
    this host can (it says what it skipped and why when it cannot)."""
    runs = _runs(None, out_root, progress, bundled_sites)
    sites = [pipeline.render(run) for run in runs]
    if not build:
        return DemoResult(sites, [], "image build skipped (--no-build)")
    demo_run = next(r for r in runs if r.site == DEMO_BUILD_SITE)
    builds, note = demo_build(out_root, progress, demo_run)
    return DemoResult(sites, builds, note)
