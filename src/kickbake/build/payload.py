"""The build payload: what kickbake hands the elements through KICKBAKE_PAYLOAD.

image.json (the traceability record), the site's repo files, the baked node bundles, the
first-boot agent and, for a locked build, the lock's pins.
Deterministic: the same inputs give the same bytes and the same image id."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from kickbake.build.identity import image_record
from kickbake.build.spec import BuildSpec
from kickbake.errors import KickbakeError
from kickbake.firstboot.installed import AGENT_MODULES, FIRSTBOOT_DIR, agent_text
from kickbake.hashing import sha256_file
from kickbake.model import SitePlan
from kickbake.render.repofiles import deb_sources_file, rpm_repo_file


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def _write_repos(site_plan: SitePlan, spec: BuildSpec, payload: Path) -> None:
    repos = list(site_plan.node(spec.nodes[0]).repos)
    rpm = [r for r in repos if r.kind == "rpm"]
    if rpm:
        _write(payload / "repos" / "yum.repos.d" / "kickbake.repo", rpm_repo_file(rpm))
    for repo in repos:
        if repo.kind == "deb" and not repo.host_mirror:  # mirror-backed: the distro element writes it
            _write(payload / "repos" / "sources.list.d" / f"kickbake-{repo.name}.sources", deb_sources_file(repo))


def _copy_bundles(spec: BuildSpec, bundles_dir: Path, payload: Path) -> None:
    for node in spec.baked_nodes:
        shutil.copytree(bundles_dir / node, payload / "site" / "nodes" / node)


def write_payload(site_plan: SitePlan, spec: BuildSpec, bundles_dir: Path, payload: Path,
                  record: dict[str, Any]) -> None:
    """Fill `payload` (a fresh directory) for the image `record` describes (also written as image.json)."""
    if payload.exists():
        shutil.rmtree(payload)
    payload.mkdir(parents=True)
    _write_repos(site_plan, spec, payload)
    _copy_bundles(spec, bundles_dir, payload)
    _write(payload / "agent" / "kickbake-firstboot", agent_text(site_plan.node(spec.nodes[0]).release.firstboot.python),
           0o755)
    for module in AGENT_MODULES:
        _write(payload / "agent" / module, (FIRSTBOOT_DIR / module).read_text())
    if spec.lock is not None:
        _write(payload / "lock" / "kind", spec.lock.kind + "\n")
        _write(payload / "lock" / "pins", "".join(f"{pin}\n" for pin in spec.lock.pins))
        if "KICKBAKE_BUILD_MIRROR" in spec.env:  # a 127.0.0.1 source, useless on the node
            _write(payload / "lock" / "build-mirror", spec.env["KICKBAKE_BUILD_MIRROR"] + "\n")
        if "KICKBAKE_NODE_MIRROR" in spec.env:  # where the nodes reach the same snapshot
            _write(payload / "lock" / "node-mirror", spec.env["KICKBAKE_NODE_MIRROR"] + "\n")
    _write(payload / "image.json", json.dumps(record, indent=2, sort_keys=True) + "\n")


def build_record(site_plan: SitePlan, spec: BuildSpec, bundles_dir: Path, digest: str) -> dict[str, Any]:
    """The image record and id of this build, before anything is written (see build.identity)."""
    for node in spec.baked_nodes:
        if not (bundles_dir / node / "node.json").is_file():
            raise KickbakeError(f"no config bundle for node {node} in {bundles_dir}",
                                hint="render the site first (./kb render) so output/<site>/nodes/ exists")
    lock_sha256 = sha256_file(spec.lock.path) if spec.lock is not None else None
    return image_record(site_plan, spec, bundles_dir, digest, lock_sha256)
