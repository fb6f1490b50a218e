"""OpenStack Nova rules: what computes must agree on, and where instance disks may live.

Sources: nova docs (configuring migrations: identical instances_path and name resolution on
every compute), the libvirt LVM image backend (a local VG, not cluster aware)."""

from __future__ import annotations

from kickbake.lint.engine import RuleResult, Severity, rule
from kickbake.lint.views import drbd_of_device
from kickbake.model.plan import SitePlan
from kickbake.model.types import NetworkPurpose, OpenStackRole


def _compute_roles(plan: SitePlan) -> list[str]:
    return sorted(n for n, r in plan.site.roles.items() if r.openstack is OpenStackRole.COMPUTE)


@rule("NOVA001", Severity.ERROR, "all computes use the same instances_path")
def same_instances_path(plan: SitePlan) -> RuleResult:
    roles = [r for r in _compute_roles(plan) if any(r in n.roles for n in plan.site.nodes)]
    paths = {r: plan.instances_path((r,)) for r in roles}
    if len(set(paths.values())) <= 1:
        return
    first = roles[0]
    for role in roles[1:]:
        if paths[role] != paths[first]:
            yield ("roles", role, "instances_path"), (
                f"computes of role {role} keep instances in {paths[role]}, those of {first} in "
                f"{paths[first]}: live migration needs the same path on every compute"
            ), "use one instances_path (set openstack.instances_path once and drop the role overrides)"


@rule("NOVA002", Severity.ERROR, "images_type lvm names its volume group")
def lvm_images_need_vg(plan: SitePlan) -> RuleResult:
    openstack = plan.site.openstack
    if openstack and openstack.images_type == "lvm" and not openstack.images_volume_group:
        yield ("openstack", "images_type"), "libvirt images_type lvm needs images_volume_group", (
            "set openstack.images_volume_group to a VG every compute has"
        )


@rule("NOVA003", Severity.WARNING, "images_volume_group is only used with images_type lvm")
def vg_without_lvm_images(plan: SitePlan) -> RuleResult:
    openstack = plan.site.openstack
    if openstack and openstack.images_volume_group and openstack.images_type != "lvm":
        yield ("openstack", "images_volume_group"), (
            f"images_type is {openstack.images_type}, so images_volume_group is ignored"
        ), "set images_type: lvm, or remove images_volume_group"


@rule("NOVA004", Severity.WARNING, "libvirt LVM images are not put on a shared VG")
def lvm_images_not_shared(plan: SitePlan) -> RuleResult:
    openstack = plan.site.openstack
    if not openstack or openstack.images_type != "lvm":
        return
    vg = next((v for v in plan.site.volume_groups if v.name == openstack.images_volume_group), None)
    if vg is not None and vg.shared:
        yield ("openstack", "images_volume_group"), (
            f"{vg.name} is shared: nova's LVM backend creates and activates LVs without lvmlockd "
            "(it assumes a local VG)"
        ), "keep instances on a cluster filesystem in instances_path, or use a local VG"


@rule("NOVA005", Severity.ERROR, "the images VG exists on every compute")
def images_vg_on_computes(plan: SitePlan) -> RuleResult:
    openstack = plan.site.openstack
    if not openstack or openstack.images_type != "lvm":
        return
    vg = next((v for v in plan.site.volume_groups if v.name == openstack.images_volume_group), None)
    if vg is None:
        return
    holders = {m for d in vg.devices if (f := drbd_of_device(plan, d, vg)) for m in f[1].members}
    for view in plan.nodes:
        if view.openstack is OpenStackRole.COMPUTE and holders and view.hostname not in holders:
            yield ("openstack", "images_volume_group"), (
                f"compute {view.hostname} does not replicate the devices of {vg.name}: it has no such VG"
            ), f"add {view.hostname} to the DRBD resource under {vg.name}, or pick another VG"


@rule("NOVA006", Severity.ERROR, "instances_path is an absolute path")
def instances_path_absolute(plan: SitePlan) -> RuleResult:
    if plan.site.openstack and not plan.site.openstack.instances_path.startswith("/"):
        yield ("openstack", "instances_path"), f"{plan.site.openstack.instances_path!r} is not absolute", (
            "write an absolute path such as /var/lib/nova/instances"
        )
    for name, role in plan.site.roles.items():
        if role.instances_path and not role.instances_path.startswith("/"):
            yield ("roles", name, "instances_path"), f"{role.instances_path!r} is not absolute", (
                "write an absolute path such as /var/lib/nova/instances"
            )


@rule("NOVA007", Severity.WARNING, "instances_path is set on compute roles only")
def instances_path_on_compute(plan: SitePlan) -> RuleResult:
    for name, role in plan.site.roles.items():
        if role.instances_path and role.openstack is not OpenStackRole.COMPUTE:
            yield ("roles", name, "instances_path"), (
                f"role {name} runs no nova-compute, so instances_path is ignored"
            ), "remove it, or set openstack: compute"


@rule("NOVA008", Severity.ERROR, "computes have a controller")
def computes_need_controller(plan: SitePlan) -> RuleResult:
    computes = [v for v in plan.nodes if v.openstack is OpenStackRole.COMPUTE]
    if computes and not any(v.openstack is OpenStackRole.CONTROLLER for v in plan.nodes):
        role = next(r for r in computes[0].node.roles if plan.site.roles[r].openstack)
        yield ("roles", role, "openstack"), (
            f"{', '.join(v.hostname for v in computes)} run nova-compute but no node is a controller: "
            "no message queue or database to register with"
        ), "give one node a role with openstack: controller"


@rule("NOVA009", Severity.WARNING, "controller and computes run the same release")
def nova_same_release(plan: SitePlan) -> RuleResult:
    views = [v for v in plan.nodes if v.openstack is not None]
    controller = next((v for v in views if v.openstack is OpenStackRole.CONTROLLER), None)
    if controller is None:
        return
    for view in views:
        if view.release.name != controller.release.name:
            yield (*_node_index(plan, view.hostname), "hostname"), (
                f"{view.hostname} runs {view.release.pretty}, controller {controller.hostname} runs "
                f"{controller.release.pretty}: their Nova versions may not talk (a compute must not be "
                "newer than its controller)"
            ), "give all Nova nodes one release"


@rule("NOVA010", Severity.ERROR, "every Nova node has a static address for my_ip")
def nova_nodes_have_an_address(plan: SitePlan) -> RuleResult:
    for view in plan.nodes:
        if view.openstack is not None and not any(i.address for i in view.interfaces):
            yield (*_node_index(plan, view.hostname), "interfaces"), (
                f"{view.hostname} is an OpenStack {view.openstack.value} without a static address: Nova's "
                "my_ip (and the controller's service endpoints) would have none"
            ), "give its management interface an address (dnsmasq reserves it for its MAC)"


def _node_index(plan: SitePlan, hostname: str) -> tuple[str, int]:
    return ("nodes", next(i for i, n in enumerate(plan.site.nodes) if n.hostname == hostname))


@rule("NOVA011", Severity.ERROR, "Nova's my_ip is a static address on the management network")
def my_ip_on_management(plan: SitePlan) -> RuleResult:
    for view in plan.nodes:
        statics = [i for i in view.interfaces if i.address]
        if view.openstack is None or not statics:  # no static address at all: NOVA010
            continue
        if any(i.purpose == NetworkPurpose.MANAGEMENT.value for i in statics):
            continue
        managed = [i for i in view.interfaces if i.purpose == NetworkPurpose.MANAGEMENT.value]
        others = " or ".join(f"{i.address} (network {i.network}, purpose {i.purpose})" for i in statics)
        where = (f"its management interface {managed[0].name} ({managed[0].network}) uses DHCP" if managed
                 else "it has no interface on a management network")
        yield (*_node_index(plan, view.hostname), "interfaces"), (
            f"{view.hostname} is an OpenStack {view.openstack.value} and {where}: Nova's my_ip (its VNC, "
            f"migration and service traffic) would silently be {others}"
        ), "give its management interface a static address (dnsmasq reserves it for its MAC)"
