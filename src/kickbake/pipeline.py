"""The pipeline as its stages: load inventory -> validate -> render -> (build -> record).

Each public function here is what one task calls."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from kickbake.build import BuildResult, ImagePlan, build_images, dib_path, plan_images
from kickbake.errors import BadInput, Problem
from kickbake.lint import Finding, LintErrors, Severity, lint_site
from kickbake.model import NodeView, SitePlan, load_site, plan
from kickbake.output import Stage, staged_site_output
from kickbake.paths import BUNDLED_SITES, OUTPUT_DIR, SITES_DIR
from kickbake.progress import Progress
from kickbake.record.inputs import input_hashes, inputs_digest
from kickbake.record.lock import lock_site
from kickbake.render.install import InstallDelivery, render_install
from kickbake.render.kickstart import render_kickstart
from kickbake.render.liveimg import SUFFIX, baked_image, liveimg_relative
from kickbake.render.netboot import netboot_states
from kickbake.render.nodes import render_node_bundles
from kickbake.render.pxe import render_pxe
from kickbake.render.pxe_view import pxe_site
from kickbake.validate.kickstart import KickstartFinding, validate_kickstart, validate_kickstarts
from kickbake.validate.tools import FileCheck, check_site_output


@dataclass
class NodeResult:
    node: str
    release: str
    roles: tuple[str, ...]
    netboot: str | None = None  # install / local; None without a pxe: section
    outputs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class SiteResult:
    site: str
    inventory: str
    output: str
    nodes: list[NodeResult]
    findings: list[Finding]
    inputs_digest: str
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "site": self.site,
            "inventory": self.inventory,
            "output": self.output,
            "inputs_digest": self.inputs_digest,
            "nodes": [n.__dict__ for n in self.nodes],
            "findings": [f.as_dict() for f in self.findings],
            "notes": self.notes,
        }


def bundled_sites() -> list[Path]:
    return [SITES_DIR / f"{name}.yml" for name in BUNDLED_SITES]


def check_site(site_path: str | Path) -> tuple[SitePlan, list[Finding]]:
    """Load and lint; raise BadInput when an error-severity finding blocks rendering."""
    site_plan = plan(load_site(site_path))
    findings = lint_site(site_plan)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors:
        raise LintErrors(errors)
    return site_plan, findings


def _render_kickstarts(site_plan: SitePlan, stage: Stage, digest: str, results: dict[str, NodeResult],
                       deliveries: dict[str, InstallDelivery]) -> None:
    rendered = []
    for node in site_plan.nodes:
        if node.release.kickstart is None:
            results[node.hostname].notes.append(
                f"no kickstart: {node.release.pretty} has no anaconda (image and PXE target)")
            continue
        rendered.append((node, render_kickstart(site_plan, node, digest, deliveries.get(node.hostname))))
    verdicts = validate_kickstarts([(text, node.release.kickstart.handler) for node, text in rendered])  # type: ignore[union-attr]
    problems: list[Problem] = []
    for (node, text), findings in zip(rendered, verdicts, strict=True):
        relative = f"kickstarts/{node.hostname}.ks"
        problems.extend(_kickstart_problem(relative, node, finding) for finding in findings)
        stage.write(relative, text)
        results[node.hostname].outputs.append(relative)
    if problems:
        raise BadInput(problems)


def _render_liveimg(
    site_plan: SitePlan, stage: Stage, digest: str, results: dict[str, NodeResult],
    deliveries: dict[str, InstallDelivery],
) -> dict[str, str]:
    """liveimg kickstart variants for nodes whose image tar is built; returns node -> variant suffix."""
    problems: list[Problem] = []
    variants: dict[str, str] = {}
    for node in site_plan.nodes:
        if node.release.kickstart is None:
            continue
        image = baked_image(site_plan, node, stage.root)
        if isinstance(image, str):
            results[node.hostname].notes.append(f"no liveimg kickstart: {image}")
            continue
        delivery = deliveries.get(node.hostname)
        text = render_kickstart(site_plan, node, digest, delivery.for_liveimg() if delivery else None, image)
        relative = liveimg_relative(node.hostname)
        findings = validate_kickstart(text, node.release.kickstart.handler)
        problems.extend(_kickstart_problem(relative, node, finding) for finding in findings)
        stage.write(relative, text)
        results[node.hostname].outputs.append(relative)
        variants[node.hostname] = SUFFIX
    if problems:
        raise BadInput(problems)
    return variants


def _render_pxe(site_plan: SitePlan, stage: Stage, out_root: Path, variants: dict[str, str],
                netboot: dict[str, str], results: dict[str, NodeResult]) -> list[str]:
    px = pxe_site(site_plan, out_root, variants, netboot)
    if px is None:
        return ["no pxe: section, no PXE tree"]
    outcome = render_pxe(px, stage, out_root)
    for node, notes in outcome.node_notes.items():
        results[node].notes.extend(notes)
    return outcome.notes


def _install_note(node: NodeView, delivery: InstallDelivery) -> str:
    if delivery.token is None:
        return "netboot local: installed and reported (./kb netboot --install to reinstall)"
    by = ("its kickstart's last %post" if node.has_kickstart
          else f"secrets/install/{node.hostname}.py (for a system installed otherwise)")
    return f"netboot install: {by} fetches {delivery.bundle_url} (token, sha256) and reports"


def _kickstart_problem(relative: str, node: NodeView, finding: KickstartFinding) -> Problem:
    handler = node.release.kickstart.handler if node.release.kickstart else "?"
    return Problem(relative, finding.line, node.hostname, f"pykickstart {handler}: {finding.message}",
                   f"rendered from {finding.template}: {finding.text.strip()!r}")


def render_site(site_path: str | Path, out_root: Path = OUTPUT_DIR, progress: Progress | None = None,
                netboot: dict[str, str] | None = None) -> SiteResult:
    """Render every output of one site into output/<site>/, atomically. `netboot` changes nodes'
    netboot state (./kb netboot, an install report); the rest is carried over."""
    progress = progress or Progress.quiet()
    site_plan, findings = check_site(site_path)
    site = site_plan.site
    hashes = input_hashes(site_plan.inventory)
    digest = inputs_digest(hashes)
    results = {n.hostname: NodeResult(n.hostname, n.release.name, n.node.roles) for n in site_plan.nodes}
    with staged_site_output(out_root, site.site) as stage:
        with progress.step(f"{site.site}: node bundles"):
            for hostname, written in render_node_bundles(site_plan, stage).items():
                count = len(written) - 1
                results[hostname].outputs.append(f"nodes/{hostname}/ ({count} files + node.json)")
        states = netboot_states([n.hostname for n in site_plan.nodes], stage, netboot)
        with progress.step(f"{site.site}: install bundles"):
            deliveries = render_install(site_plan, stage, digest, states)
            for hostname, delivery in deliveries.items():
                results[hostname].netboot = states[hostname]
                results[hostname].notes.append(_install_note(site_plan.node(hostname), delivery))
        with progress.step(f"{site.site}: kickstarts"):
            _render_kickstarts(site_plan, stage, digest, results, deliveries)
        with progress.step(f"{site.site}: liveimg kickstarts"):
            variants = _render_liveimg(site_plan, stage, digest, results, deliveries)
        with progress.step(f"{site.site}: pxe"):
            notes = _render_pxe(site_plan, stage, out_root, variants, states, results)
        stage.write("inputs.json", json.dumps({"digest": digest, "files": hashes}, indent=2, sort_keys=True) + "\n")
    return SiteResult(
        site=site.site,
        inventory=site_plan.inventory.source.name,
        output=str(out_root / site.site),
        nodes=list(results.values()),
        findings=findings,
        inputs_digest=digest,
        notes=notes,
    )


def validate_site(site_path: str | Path) -> SiteResult:
    """Everything render does, in a scratch directory that is thrown away: nothing is written."""
    with tempfile.TemporaryDirectory(prefix="kickbake-validate-") as scratch:
        result = render_site(site_path, Path(scratch))
    result.output = ""
    return result


def _sites(site: str | Path | None) -> list[Path]:
    return [Path(site)] if site else bundled_sites()


def render_sites(
    site: str | Path | None, out_root: Path = OUTPUT_DIR, progress: Progress | None = None
) -> list[SiteResult]:
    """Render one site, or every bundled site when `site` is None."""
    return [render_site(path, out_root, progress) for path in _sites(site)]


def validate_sites(site: str | Path | None) -> list[SiteResult]:
    return [validate_site(path) for path in _sites(site)]


def pxe_sites(
    site: str | Path | None, out_root: Path = OUTPUT_DIR, progress: Progress | None = None
) -> list[SiteResult]:
    """Render sites for their PXE tree. pxe/ is part of the atomically swapped output generation,
    so this renders everything; a site without a `pxe:` section is an error here."""
    paths = _sites(site)
    for path in paths:
        if load_site(path).site.pxe is None:
            raise BadInput(Problem(str(path), 0, "pxe", "the site has no pxe: section",
                                   "add pxe: {server: ..., network: ...}"))
    return [render_site(path, out_root, progress) for path in paths]


def validate_real_tools(
    site: str | Path | None, progress: Progress | None = None
) -> list[FileCheck]:
    """Render each site into a temporary directory (output/ is not touched) and check every
    rendered file with the real tool that reads it; one FileCheck per file and node."""
    progress = progress or Progress.quiet()
    checks: list[FileCheck] = []
    for path in _sites(site):
        with tempfile.TemporaryDirectory(prefix="kickbake-validate-") as tmp:
            result = render_site(path, Path(tmp))
            with progress.step(f"{result.site}: real tools"):
                site_plan = plan(load_site(path))
                checks.extend(check_site_output(site_plan, Path(result.output)))
    return checks


# --- build stage (issue 4): node images with diskimage-builder --------------------------------
# Kept apart from rendering: `./kb build` calls build_site, `./kb demo` calls demo_build after
# rendering. The record stage hooks in at kickbake.build.record_built_image.

DEMO_BUILD_SITE = "lab-debian"
DEMO_BUILD_IMAGE = "storage-node"
BUILD_HOST_TOOLS = ("debootstrap", "qemu-img", "mksquashfs", "sudo", "sgdisk", "kpartx")


def build_site(site_path: str | Path, image: str | None = None, types: tuple[str, ...] = (), layout: str = "",
               dry_run: bool = False, out_root: Path = OUTPUT_DIR,
               progress: Progress | None = None, lock_path: Path | None = None,
               from_mirror: bool = False, force: bool = False) -> list[BuildResult]:
    """Render the site (its node bundles are baked into the images), then build its images,
    installing exactly the pins of repos/<site>.lock (or lock_path) when there is one; with
    from_mirror, from ./kb mirror's snapshot of that lock and nothing else (an offline rebuild).
    With dry_run nothing is written: only the exact disk-image-create commands are returned."""
    if not dry_run:
        render_site(site_path, out_root, progress)
    site_plan, _ = check_site(site_path)
    return build_images(site_plan, out_root, image, types, layout, dry_run, progress, lock_path, from_mirror, force)


def plan_site(site_path: str | Path, out_root: Path = OUTPUT_DIR, lock_path: Path | None = None) -> list[ImagePlan]:
    """`./kb plan`: each image's id, layer and whether it is built, or why it is stale. The site is
    rendered into a scratch directory with its own secrets (so the bundles are what a build would
    bake), and output/ is only read."""
    site_plan, _ = check_site(site_path)
    site = site_plan.site.site
    with tempfile.TemporaryDirectory(prefix="kickbake-plan-") as scratch:
        secrets = out_root / site / "secrets"
        if secrets.is_dir():
            shutil.copytree(secrets, Path(scratch) / site / "secrets")
        render_site(site_path, Path(scratch))
        return plan_images(site_plan, Path(scratch) / site / "nodes", out_root / site / "images", str(site_path),
                           lock_path)


def missing_build_tools() -> list[str]:
    missing = [tool for tool in BUILD_HOST_TOOLS if shutil.which(tool, path=dib_path()) is None]
    if shutil.which("disk-image-create", path=dib_path()) is None:
        missing.insert(0, "disk-image-create")
    if os.geteuid() != 0:
        missing.append("root (diskimage-builder mounts and chroots)")
    return missing


def demo_build(out_root: Path = OUTPUT_DIR, progress: Progress | None = None) -> tuple[list[BuildResult], str]:
    """./kb demo's build step: bake the lab-debian storage-node image when this host can;
    otherwise build nothing and say what is missing."""
    missing = missing_build_tools()
    if missing:
        return [], f"skipped the {DEMO_BUILD_SITE} image build: missing {', '.join(missing)} (./kb test installs them)"
    site = SITES_DIR / f"{DEMO_BUILD_SITE}.yml"
    site_plan, _ = check_site(site)
    # the lab's lock follows this host's Debian mirror, so it is made here (kept when current)
    with (progress or Progress.quiet()).step(f"{DEMO_BUILD_SITE}: lock the image package sets"):
        locked = lock_site(site)
    results = build_images(site_plan, out_root, DEMO_BUILD_IMAGE, progress=progress)
    built = ", ".join(f"{r.image} in {r.seconds:.0f}s ({r.record.get('packages', 0)} packages recorded)"
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
    sites = render_sites(None, out_root, progress)
    if not build:
        return DemoResult(sites, [], "image build skipped (--no-build)")
    builds, note = demo_build(out_root, progress)
    return DemoResult(sites, builds, note)
