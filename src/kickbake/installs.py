"""Network installs after rendering: netboot state per node (`./kb netboot`) and the install
reports nodes send at the end of their install (through `./kb serve`).

A report is recorded like `./kb record --node` (records/<node>.manifest.json, SPDX, CycloneDX),
then the site is rendered again with the node set to `local`: its PXE entries boot the disk and
its install token is gone. `./kb netboot --install` is the way back: it keeps the node's
previous record under records/history/ and makes a fresh token."""

from __future__ import annotations

from pathlib import Path

from kickbake.errors import BadInput, Problem
from kickbake.install_gate import RecordExists
from kickbake.model import SitePlan
from kickbake.output import current_generation
from kickbake.paths import OUTPUT_DIR
from kickbake.pipeline import render
from kickbake.record.dpkg import parse_dpkg_status
from kickbake.record.image import context_for_node, record_node_packages
from kickbake.record.packages import PackageRecord
from kickbake.record.rpmdb import parse_rpm_table
from kickbake.render.netboot import INSTALL, LOCAL, STATES, read_netboot
from kickbake.siterun import open_site

RECORDS_DIR = "records"
RECORD_SUFFIXES = (".manifest.json", ".spdx.json", ".cdx.json")


def records_dir(out_root: Path, site: str) -> Path:
    return out_root / site / RECORDS_DIR


def _archive_records(out_root: Path, site: str, node: str) -> list[str]:
    """Move the node's record into records/history/<node>.<n>.*; return what moved."""
    directory = records_dir(out_root, site)
    current = [directory / f"{node}{suffix}" for suffix in RECORD_SUFFIXES if (directory / f"{node}{suffix}").exists()]
    if not current:
        return []
    history = directory / "history"
    history.mkdir(parents=True, exist_ok=True)
    number = 1 + max((int(p.name[len(node) + 1:].split(".")[0]) for p in history.glob(f"{node}.*.manifest.json")
                      if p.name[len(node) + 1:].split(".")[0].isdigit()), default=0)
    moved = []
    for path in current:
        target = history / f"{node}.{number}{path.name[len(node):]}"
        path.rename(target)
        moved.append(str(target.relative_to(out_root / site)))
    return moved


def _node(site_plan: SitePlan, site_path: str | Path, node: str) -> None:
    if node not in {n.hostname for n in site_plan.nodes}:
        raise BadInput(Problem(str(site_path), 0, "nodes", f"no node {node!r} in site {site_plan.site.site}",
                               f"one of: {', '.join(n.hostname for n in site_plan.nodes)}"))


def netboot(site_path: str | Path, node: str = "", state: str = "", out_root: Path = OUTPUT_DIR
            ) -> dict[str, object]:
    """Show every node's netboot state, or set `node` to `state` (install/local) and re-render."""
    run = open_site(site_path, out_root)
    site_plan = run.plan
    site = site_plan.site.site
    if site_plan.site.pxe is None:
        raise BadInput(Problem(str(site_path), 0, "pxe", "the site has no pxe: section, so nothing netboots",
                               "add pxe: {server: ..., network: ...}"))
    archived: list[str] = []
    if state:
        if state not in STATES:
            raise BadInput(f"netboot state must be one of {', '.join(STATES)}, not {state!r}")
        if not node:
            raise BadInput("say which node: --node NAME", hint="./kb netboot --site S shows every node")
        _node(site_plan, site_path, node)
        if state == INSTALL:
            archived = _archive_records(out_root, site, node)
        render(run, netboot={node: state})
    elif node:
        _node(site_plan, site_path, node)
    generation = current_generation(out_root, site)
    states = read_netboot(generation) if generation else {}
    states = {n.hostname: states.get(n.hostname, INSTALL) for n in site_plan.nodes if not node or n.hostname == node}
    return {"site": site, "nodes": states, "archived": archived}


def parse_report(package_db: str, body: bytes, origin: str) -> list[PackageRecord]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadInput(f"{origin}: not UTF-8 at byte {error.start}",
                       hint="send the package list as the node wrote it") from error
    records = parse_dpkg_status(text) if package_db == "dpkg" else parse_rpm_table(text, origin)
    if not records:
        raise BadInput(f"{origin}: no installed package in the report", hint="send the node's full package list")
    return records


def accept_report(site_path: str | Path, out_root: Path, node: str, package_db: str, body: bytes) -> str:
    """Record an installed node's report and switch it to local boot; what to tell the node. The
    site is read afresh for each report: it may have been edited while the server ran."""
    run = open_site(site_path, out_root)
    site_plan = run.plan
    site = site_plan.site.site
    records = parse_report(package_db, body, f"report from {node}")
    directory = records_dir(out_root, site)
    if (directory / f"{node}.manifest.json").exists():
        raise RecordExists(f"{node} is recorded already ({RECORDS_DIR}/{node}.manifest.json): not overwritten",
                           hint=f"./kb netboot --site {site} --node {node} --install keeps it in history/ first")
    paths = record_node_packages(records, context_for_node(site_plan, node), directory, policy_first=True)
    render(run, netboot={node: LOCAL})
    return f"recorded {node}: {paths.packages} packages in {RECORDS_DIR}/{node}.manifest.json; netboot local"
