"""Real-tool validation of rendered bundles: each file checked by the program that reads it.

drbdadm (per member, as that member), corosync -t, crm_verify, lvmconfig --validate, pykickstart;
cluster.conf, the legacy lvm.conf and nova.conf by kickbake's own parsers where no tool for that
era exists here. A missing tool or no root gives a `skipped` line with the reason, never silence."""

from __future__ import annotations

import shutil
import stat
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from kickbake.model.clusterview import cluster_view
from kickbake.model.plan import NodeView, SitePlan
from kickbake.render.secrets import AUTHKEY_BYTES
from kickbake.validate.agents import check_agents
from kickbake.validate.cib import check_cib
from kickbake.validate.clusterconf import check_cluster_conf
from kickbake.validate.corosync import check_corosync
from kickbake.validate.drbd import check_drbd
from kickbake.validate.kickstart import validate_kickstart
from kickbake.validate.lvmconf import check_lvm_current, check_lvm_legacy
from kickbake.validate.netns import namespaces_unavailable
from kickbake.validate.novaconf import check_nova_conf
from kickbake.validate.openstackconf import check_options, check_service_config, definitions_missing
from kickbake.validate.pcs import compare_with_pcs

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
Check = Callable[[], tuple[bool, str]]


@dataclass(frozen=True)
class FileCheck:
    site: str
    node: str
    file: str  # relative to output/<site>/
    tool: str
    status: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class SiteChecker:
    def __init__(self, plan: SitePlan, site_out: Path) -> None:
        self.plan = plan
        self.site_out = site_out
        self.results: list[FileCheck] = []

    def record(
        self,
        node: str,
        files: list[Path],
        tool: str,
        check: Check,
        needs: tuple[str, ...] = (),
        netns: bool = False,
        unavailable: str | None = None,
    ) -> None:
        missing = [t for t in needs if shutil.which(t) is None]
        reason = f"{', '.join(missing)} not installed (./kb test installs it as root)" if missing else None
        reason = reason or (namespaces_unavailable() if netns else None) or unavailable
        if reason:
            status, detail = SKIPPED, reason
        else:
            ok, detail = check()
            status = OK if ok else FAILED
        for path in files:
            relative = str(path.relative_to(self.site_out))
            self.results.append(FileCheck(self.plan.site.site, node, relative, tool, status, detail))

    def node(self, view: NodeView) -> None:
        etc = self.site_out / "nodes" / view.hostname / "etc"
        name = view.hostname
        self._drbd(view, etc)
        cluster = self.plan.cluster_of(name)
        corosync = etc / "corosync" / "corosync.conf"
        if corosync.is_file() and cluster is not None:
            address = view.address_on(cluster.network)
            self.record(
                name,
                [corosync],
                "corosync -t",
                lambda: check_corosync(corosync.parent, name, address),
                needs=("corosync",),
                netns=True,
            )
            setup = cluster_view(self.plan, cluster)
            self.record(
                name, [corosync], "pcs cluster setup", lambda: compare_with_pcs(setup, corosync), needs=("pcs",)
            )
        authkey = etc / "corosync" / "authkey"
        if authkey.is_file():
            self.record(name, [authkey], "authkey check", lambda: check_authkey(authkey))
        cib = etc / "kickbake" / "cib.xml"
        if cib.is_file():
            self.record(name, [cib], "crm_verify", lambda: check_cib(cib), needs=("crm_verify",))
            self.record(
                name, [cib], "agent metadata", lambda: check_agents(cib), needs=("crm_resource", "stonith_admin")
            )
        self._lvm(view, etc / "lvm" / "lvm.conf")
        cluster_conf = etc / "cluster" / "cluster.conf"
        if cluster_conf.is_file():
            self.record(
                name,
                [cluster_conf],
                "cluster.conf parser",
                lambda: check_cluster_conf(cluster_conf),
            )
        nova = etc / "nova" / "nova.conf"
        if nova.is_file():
            dialect = view.release.openstack.dialect if view.release.openstack else "ini"
            self.record(name, [nova], f"nova.conf parser ({dialect})", lambda: check_nova_conf(nova, view))
        self._openstack(view, etc.parent)

    def _openstack(self, view: NodeView, root: Path) -> None:
        facts = view.release.openstack
        if view.openstack is None or facts is None:
            return
        for service in facts.services:
            for index, config in enumerate(service.configs):
                path = root / config.lstrip("/")
                if not path.is_file():
                    continue
                if service.name != "nova":  # nova.conf: the role-aware parser above
                    self.record(view.hostname, [path], "ini parser",
                                partial(check_service_config, path, service, index == 0))
                if service.options:
                    self.record(view.hostname, [path], "oslo-config-validator",
                                partial(check_options, path, service), unavailable=definitions_missing(service))

    def _drbd(self, view: NodeView, etc: Path) -> None:
        resources = self.plan.drbd_of(view.hostname)
        files = sorted((etc / "drbd.d").glob("*"))
        if not resources or not files:
            return
        address = view.address_on(resources[0].network)
        dialect = view.release.facts.drbd_dialect
        self.record(
            view.hostname,
            files,
            f"drbdadm dump (DRBD {dialect})",
            lambda: check_drbd(etc, view.hostname, address, dialect),
            needs=("drbdadm",),
            netns=True,
        )

    def _lvm(self, view: NodeView, lvm_conf: Path) -> None:
        if not lvm_conf.is_file():
            return
        if view.release.facts.lvm == "2.02":
            have = shutil.which("lvmconfig") is not None
            self.record(
                view.hostname,
                [lvm_conf],
                "lvm2 2.02 parser",
                lambda: check_lvm_legacy(lvm_conf, have),
            )
        else:
            self.record(
                view.hostname,
                [lvm_conf],
                "lvmconfig --validate",
                lambda: check_lvm_current(lvm_conf),
                needs=("lvmconfig",),
            )

    def kickstart(self, view: NodeView) -> None:
        path = self.site_out / "kickstarts" / f"{view.hostname}.ks"
        if view.release.kickstart is None or not path.is_file():
            return
        handler = view.release.kickstart.handler

        def check() -> tuple[bool, str]:
            found = validate_kickstart(path.read_text(), handler)
            return not found, "; ".join(f"line {f.line}: {f.message}" for f in found) or f"pykickstart {handler}: valid"

        self.record(view.hostname, [path], "pykickstart", check)


def check_authkey(path: Path) -> tuple[bool, str]:
    mode = stat.S_IMODE(path.stat().st_mode)
    size = path.stat().st_size
    if mode != 0o600 or size != AUTHKEY_BYTES:
        return (
            False,
            f"authkey must be {AUTHKEY_BYTES} bytes, mode 0600; is {size} bytes, mode {mode:04o}",
        )
    return True, f"{size} bytes, mode 0600 (content never shown)"


def check_site_output(plan: SitePlan, site_out: Path) -> list[FileCheck]:
    checker = SiteChecker(plan, site_out)
    for view in plan.nodes:
        checker.kickstart(view)
        checker.node(view)
    return checker.results
