"""Minimal nova.conf per OpenStack role; passwords come from the site's secret store."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from kickbake.errors import BadInput
from kickbake.model.plan import NodeView, SitePlan
from kickbake.model.schema import OpenStack
from kickbake.model.types import NetworkPurpose, OpenStackRole
from kickbake.paths import PACKAGE_DIR
from kickbake.render.secrets import SecretStore
from kickbake.render.templating import render_template

TEMPLATES = PACKAGE_DIR / "render" / "templates" / "nodes"
NOVA_CONF = "/etc/nova/nova.conf"


@dataclass(frozen=True)
class NovaView:
    role: str
    my_ip: IPv4Address
    controller: str  # host name; /etc/hosts resolves it the same on every node
    instances_path: str
    images_type: str
    images_volume_group: str | None
    db_password: str
    rabbit_password: str


def management_address(node: NodeView) -> IPv4Address:
    statics = [i for i in node.interfaces if i.address]
    managed = [i for i in statics if i.purpose == NetworkPurpose.MANAGEMENT.value]
    if not statics:  # NOVA010 reports it first; a renderer called without the lint still says why
        raise BadInput(f"{node.hostname}: an OpenStack node needs a static address (Nova's my_ip)",
                       hint="give its management interface an address: (./kb validate reports it as NOVA010)")
    chosen = (managed or statics)[0].address
    assert chosen is not None
    return chosen


def nova_view(plan: SitePlan, node: NodeView, secrets: SecretStore) -> NovaView:
    assert node.openstack is not None
    settings = plan.site.openstack or OpenStack()
    controllers = [n.hostname for n in plan.nodes if n.openstack is OpenStackRole.CONTROLLER]
    compute = node.openstack is OpenStackRole.COMPUTE
    return NovaView(
        role=node.openstack.value,
        my_ip=management_address(node),
        controller=controllers[0] if controllers else node.hostname,
        instances_path=plan.instances_path(node.node.roles),
        images_type=settings.images_type if compute else "default",
        images_volume_group=settings.images_volume_group if compute else None,
        db_password=secrets.password("nova-db"),
        rabbit_password=secrets.password("rabbitmq-nova"),
    )


def nova_conf(plan: SitePlan, node: NodeView, secrets: SecretStore) -> str:
    view = nova_view(plan, node, secrets)
    dialect = node.release.facts.nova_conf  # release data: ini, or the Diablo-era flag file
    return render_template(TEMPLATES, f"openstack/nova.{dialect}.j2", inventory=plan.inventory.source.name, nova=view)
