"""The pipeline as its stages, each a function of one SiteRun (the site loaded and linted once):

    open_site (load -> lint) -> render -> [validate with real tools] -> build (bake -> record)

`render` writes kickstarts, node bundles, install bundles and the PXE tree into one atomically
swapped generation of output/<site>/; `build` bakes the images from it. The commands that tasks
call (one site or every bundled one, the demo policy) are in kickbake.commands."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kickbake.errors import BadInput, Problem
from kickbake.lint import Finding
from kickbake.model import NodeView, SitePlan
from kickbake.output import Stage, current_generation, seed_generation, staged_site_output
from kickbake.record.inputs import input_hashes, inputs_digest
from kickbake.render.install import InstallDelivery, render_install
from kickbake.render.kickstart import render_kickstart
from kickbake.render.liveimg import SUFFIX, baked_image, liveimg_relative
from kickbake.render.netboot import netboot_states
from kickbake.render.netinstall import NetInstall, descriptor_url, render_netinstall
from kickbake.render.nodes import render_node_bundles
from kickbake.render.pxe import render_pxe
from kickbake.render.pxe_view import image_of, pxe_site
from kickbake.render.secrets import SecretStore
from kickbake.scratch import scratch_dir
from kickbake.siterun import SiteRun
from kickbake.validate.kickstart import KickstartFinding, validate_kickstart, validate_kickstarts
from kickbake.validate.tools import FileCheck, check_site_output

if TYPE_CHECKING:  # the build stage (diskimage-builder driver, records) loads when a command builds
    from kickbake.build import BuildOptions, BuildResult, ImagePlan


@dataclass
class NodeResult:
    node: str
    release: str
    roles: tuple[str, ...]
    netboot: str | None = None  # install / local; None without a pxe: section
    outputs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    image: str | None = None  # the baked image its roles boot, if any


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


def _render_netinstall(site_plan: SitePlan, stage: Stage, results: dict[str, NodeResult],
                       deliveries: dict[str, InstallDelivery]) -> dict[str, NetInstall]:
    """Install descriptors of image nodes (Debian) in state install with a built image tar."""
    installs, reasons = render_netinstall(site_plan, stage, deliveries)
    for node, install in installs.items():
        results[node].outputs.append(install.relative)
    for node, reason in reasons.items():
        if reason != "netboot local":
            results[node].notes.append(f"no install to disk over PXE: {reason}")
    return installs


def _render_pxe(site_plan: SitePlan, stage: Stage, out_root: Path, variants: dict[str, str],
                netboot: dict[str, str], installs: dict[str, NetInstall],
                results: dict[str, NodeResult]) -> list[str]:
    urls = {node: descriptor_url(site_plan, node) for node in installs}
    px = pxe_site(site_plan, out_root, variants, netboot, urls)
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
          else f"secrets/install/{node.hostname}.py (the image's initramfs over PXE, or a system installed otherwise)")
    return f"netboot install: {by} fetches {delivery.bundle_url} (token, sha256) and reports"


def _kickstart_problem(relative: str, node: NodeView, finding: KickstartFinding) -> Problem:
    handler = node.release.kickstart.handler if node.release.kickstart else "?"
    return Problem(relative, finding.line, node.hostname, f"pykickstart {handler}: {finding.message}",
                   f"rendered from {finding.template}: {finding.text.strip()!r}")


def render(run: SiteRun, netboot: dict[str, str] | None = None, regenerate_secrets: bool = False) -> SiteResult:
    """Render every output of the site into output/<site>/, atomically. `netboot` changes nodes'
    netboot state (./kb netboot, an install report); the rest is carried over. A secret the site
    had before and lost is an error unless `regenerate_secrets`."""
    site_plan, out_root, progress = run.plan, run.out_root, run.progress
    site = site_plan.site
    hashes = input_hashes(site_plan.inventory)
    digest = inputs_digest(hashes)
    results = {n.hostname: NodeResult(n.hostname, n.release.name, n.node.roles,
                                      image=image.name if (image := image_of(site_plan, n)) else None)
               for n in site_plan.nodes}
    with staged_site_output(out_root, site.site) as stage:
        secrets = SecretStore(stage, regenerate_secrets)
        with progress.step(f"{site.site}: node bundles"):
            for hostname, written in render_node_bundles(site_plan, stage, secrets).items():
                count = len(written) - 1
                results[hostname].outputs.append(f"nodes/{hostname}/ ({count} files + node.json)")
        states = netboot_states([n.hostname for n in site_plan.nodes], stage, netboot)
        with progress.step(f"{site.site}: install bundles"):
            deliveries = render_install(site_plan, stage, digest, states, secrets)
            for hostname, delivery in deliveries.items():
                results[hostname].netboot = states[hostname]
                results[hostname].notes.append(_install_note(site_plan.node(hostname), delivery))
        with progress.step(f"{site.site}: kickstarts"):
            _render_kickstarts(site_plan, stage, digest, results, deliveries)
        with progress.step(f"{site.site}: liveimg kickstarts"):
            variants = _render_liveimg(site_plan, stage, digest, results, deliveries)
        with progress.step(f"{site.site}: image installs"):
            installs = _render_netinstall(site_plan, stage, results, deliveries)
        with progress.step(f"{site.site}: pxe"):
            notes = _render_pxe(site_plan, stage, out_root, variants, states, installs, results)
        secrets.write_index()
        stage.write("inputs.json", json.dumps({"digest": digest, "files": hashes}, indent=2, sort_keys=True) + "\n")
    return SiteResult(
        site=site.site,
        inventory=site_plan.inventory.source.name,
        output=str(out_root / site.site),
        nodes=list(results.values()),
        findings=list(run.findings),
        inputs_digest=digest,
        notes=notes,
    )


def validate(run: SiteRun) -> SiteResult:
    """Everything render does, in a scratch directory that is thrown away: nothing is written."""
    with scratch_dir("validate") as scratch:
        result = render(run.elsewhere(scratch))
    result.output = ""
    return result


def real_tool_checks(run: SiteRun) -> list[FileCheck]:
    """Render into a scratch directory (output/ is not touched) and check every rendered file with
    the real tool that reads it; one FileCheck per file and node."""
    with scratch_dir("validate") as scratch:
        result = render(run.elsewhere(scratch))
        with run.progress.step(f"{result.site}: real tools"):
            return check_site_output(run.plan, Path(result.output))


def build(run: SiteRun, options: BuildOptions) -> list[BuildResult]:
    """Render the site (its node bundles are baked into the images), then build its images;
    with options.dry_run nothing is written: only the exact disk-image-create commands."""
    if not options.dry_run:
        render(run)
    return build_rendered(run, options)


def build_rendered(run: SiteRun, options: BuildOptions) -> list[BuildResult]:
    """Build from the site's current output (rendered earlier by the same command)."""
    from kickbake.build import build_images

    return build_images(run.plan, run.out_root, options, run.progress)


def plan_builds(run: SiteRun, lock_path: Path | None = None) -> list[ImagePlan]:
    """`./kb plan`: each image's id, layer and whether it is built, or why it is stale. The site is
    rendered into a scratch directory with its own secrets (so the bundles are what a build would
    bake); output/ is only read."""
    from kickbake.build import plan_images

    with scratch_dir("plan") as scratch:
        secrets = run.site_dir / "secrets"
        if current_generation(run.out_root, run.site) is not None and secrets.is_dir():
            seed_generation(scratch, run.site, secrets)
        render(run.elsewhere(scratch))
        return plan_images(run.plan, scratch / run.site / "nodes", run.site_dir / "images", str(run.source),
                           lock_path)
