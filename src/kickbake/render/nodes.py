"""Node-config stage: for every node, output/<site>/nodes/<node>/ = an etc/ overlay + node.json.

Cluster-wide files are rendered once per cluster (or DRBD resource) and the same bytes are
added to every member's bundle. Secrets come from the site's secret store."""

from __future__ import annotations

from collections import defaultdict

from kickbake.firstboot.steps import Step
from kickbake.model.clusterview import ClusterView, DrbdView, cluster_views, drbd_views
from kickbake.model.plan import NodeView, SitePlan
from kickbake.model.schema import VolumeGroup
from kickbake.output import Stage
from kickbake.render import cluster as files
from kickbake.render import steps
from kickbake.render.bundle import BundleBuilder
from kickbake.render.openstack import cloud_files
from kickbake.render.openstack_steps import openstack_steps
from kickbake.render.secrets import SecretStore


class SiteBundles:
    """The shared files of one site, each rendered once, and the per-node assembly."""

    def __init__(self, plan: SitePlan, stage: Stage, secrets: SecretStore) -> None:
        self.plan = plan
        self.secrets = secrets
        self.hosts = files.hosts_file(plan)
        # indexes by member: a site may have hundreds of clusters and resources
        self.drbd: dict[str, list[DrbdView]] = defaultdict(list)
        for resource in drbd_views(plan):
            for host in resource.hosts:
                self.drbd[host.name].append(resource)
        self.vgs: dict[str, list[VolumeGroup]] = defaultdict(list)
        for vg in plan.site.volume_groups:
            if vg.shared and vg.cluster:
                self.vgs[vg.cluster].append(vg)
        self.clusters: dict[str, ClusterView] = {}
        self.cluster_files: dict[str, tuple[files.SharedFile, ...]] = {}
        for view in cluster_views(plan):
            self.clusters.update((m.name, view) for m in view.members)
            resources = {r.name: r for m in view.members for r in self.drbd[m.name]}
            vgs = tuple(self.vgs[view.name])
            self.cluster_files[view.name] = files.cluster_files(
                plan, view, tuple(resources.values()), vgs, self.secrets
            )
        self.drbd_files = {r.name: files.drbd_files(plan, r, self.secrets)
                           for views in self.drbd.values() for r in views}
        dialects = sorted({r.dialect for views in self.drbd.values() for r in views})
        self.drbd_common = {d: files.drbd_common_file(plan, d) for d in dialects}

    def build(self, node: NodeView) -> tuple[BundleBuilder, tuple[Step, ...]]:
        builder = BundleBuilder(self.plan.site.site, node.hostname, node.release.name)
        builder.add("/etc/hosts", self.hosts)
        resources = tuple(self.drbd[node.hostname])
        shared: list[files.SharedFile] = []
        if resources:
            shared.append(self.drbd_common[resources[0].dialect])
            shared.extend(f for r in resources for f in self.drbd_files[r.name])
        view = self.clusters.get(node.hostname)
        vgs = tuple(self.vgs[view.name]) if view else ()
        if view is not None:
            shared.extend(self.cluster_files[view.name])
            if vgs or resources:
                builder.add("/etc/lvm/lvm.conf", files.lvm_conf(self.plan, node, resources, view.stack))
        for item in shared:
            builder.add(item.path, item.content, mode=item.mode, secret=item.secret)
        if node.openstack is not None:
            for cloud in cloud_files(self.plan, node, self.secrets):
                mode = "0644" if not cloud.secret else "0600" if cloud.group == "root" else "0640"
                builder.add(cloud.path, cloud.content, mode=mode, group=cloud.group, secret=cloud.secret)
        node_steps = steps.base_steps(self.plan, node) + steps.drbd_steps(node.hostname, resources)
        if view is not None:
            node_steps += steps.cluster_steps(self.plan, node, view, vgs)
        node_steps += openstack_steps(self.plan, node)
        return builder, tuple(node_steps)


def render_node_bundles(plan: SitePlan, stage: Stage, secrets: SecretStore) -> dict[str, list[str]]:
    """Write every node's bundle; return the written paths per node."""
    bundles = SiteBundles(plan, stage, secrets)
    written = {}
    for node in plan.nodes:
        builder, node_steps = bundles.build(node)
        written[node.hostname] = builder.write(stage, node_steps)
    return written
