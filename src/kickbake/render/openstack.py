"""The OpenStack files of a node: every service config of the controller (Keystone, Glance,
Placement, Nova), the uwsgi ini files where the release runs an API under uwsgi, the database
server's drop-in and the admin credentials; nova.conf on a compute. Which services, files and
dialect come from the release data (releases/*.yml `openstack:`); passwords from the site's secret
store. Every file holding a password is a secret file of the bundle (0600 there, root:<service>
0640 on the node), so no password is in node.json, a kickstart or a log."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import PurePosixPath

from kickbake.errors import BadInput
from kickbake.model.catalog import OpenStackFacts, OpenStackService
from kickbake.model.plan import NodeView, SitePlan
from kickbake.model.schema import OpenStack
from kickbake.model.types import NetworkPurpose, OpenStackRole
from kickbake.paths import PACKAGE_DIR
from kickbake.render.secrets import SecretStore
from kickbake.render.templating import render_template

TEMPLATES = PACKAGE_DIR / "render" / "templates" / "nodes"
NOVA_CONF = "/etc/nova/nova.conf"
ADMIN_OPENRC = "/root/admin-openrc"  # the cloud admin's credentials, root 0600 on the controller
ADMIN_USER = "admin"
SERVICE_PROJECT = "service"


@dataclass(frozen=True)
class CloudFile:
    path: str
    content: str
    group: str  # the service's group reads it (0640); root-only files say root (0600)
    secret: bool = True


@dataclass(frozen=True)
class CloudView:
    """What the OpenStack templates read: addresses, URLs, passwords, tuning. Built once per node."""

    role: str
    series: str
    my_ip: IPv4Address
    controller: str  # host name: database and broker (/etc/hosts resolves it the same everywhere)
    controller_ip: IPv4Address  # service endpoints: reachable without name resolution
    region: str
    instances_path: str
    images_type: str
    images_volume_group: str | None
    workers: int
    urls: dict[str, str]  # catalog type -> URL (identity, image, placement, compute)
    keystone_url: str  # Keystone without the API version: the auth middleware's www_authenticate_uri
    passwords: dict[str, str]  # secret name without .password -> value


def management_address(node: NodeView) -> IPv4Address:
    """Nova's my_ip: the static address on the node's management network. Never another
    network's: a DHCP management interface would otherwise make the replication address my_ip."""
    managed = [i for i in node.interfaces if i.address and i.purpose == NetworkPurpose.MANAGEMENT.value]
    if not managed:  # NOVA010/NOVA011 report it first; a renderer called without the lint still says why
        raise BadInput(f"{node.hostname}: an OpenStack node needs a static address on its management network "
                       "(Nova's my_ip)",
                       hint="give its management interface an address: (./kb validate reports it as NOVA010/NOVA011)")
    chosen = managed[0].address
    assert chosen is not None
    return chosen


def first_controller(plan: SitePlan) -> NodeView | None:
    return next((n for n in plan.nodes if n.openstack is OpenStackRole.CONTROLLER), None)


def facts_of(node: NodeView) -> OpenStackFacts:
    facts = node.release.openstack
    if facts is None:
        raise BadInput(f"{node.hostname}: {node.release.pretty} ships no OpenStack",
                       hint="give the node a release with OpenStack (./kb validate reports the missing feature)")
    return facts


def url_of(service: OpenStackService, address: IPv4Address) -> str:
    return f"http://{address}:{service.catalog.port}{service.catalog.path}"


def password_names(facts: OpenStackFacts) -> list[str]:
    """Every password of the cloud: the admin's, a database per service and a Keystone user per
    service that authenticates (not Keystone itself, nor Diablo's Nova), Nova's RabbitMQ user."""
    names = ["keystone-admin", "rabbitmq-nova"]
    for service in facts.services:
        names.append(f"{service.name}-db")
        if service.auth is not None:
            names.append(f"{service.name}-keystone")
    return sorted(names)


def cloud_view(plan: SitePlan, node: NodeView, secrets: SecretStore) -> CloudView:
    assert node.openstack is not None
    facts = facts_of(node)
    settings = plan.site.openstack or OpenStack()
    controller = first_controller(plan) or node
    controller_ip = management_address(controller)
    compute = node.openstack is OpenStackRole.COMPUTE
    identity = facts.service("keystone")
    assert identity is not None  # the release data has Keystone wherever it has OpenStack
    return CloudView(
        role=node.openstack.value,
        series=facts.series,
        my_ip=management_address(node),
        controller=controller.hostname,
        controller_ip=controller_ip,
        region=facts.region,
        instances_path=plan.instances_path(node.node.roles),
        images_type=settings.images_type if compute else "default",
        images_volume_group=settings.images_volume_group if compute else None,
        workers=settings.workers,
        urls={s.catalog.type: url_of(s, controller_ip) for s in facts.services},
        keystone_url=f"http://{controller_ip}:{identity.catalog.port}",
        passwords={name: secrets.password(name) for name in password_names(facts)},
    )


def _template(facts: OpenStackFacts, path: str) -> str:
    return f"openstack/{facts.dialect}/{PurePosixPath(path).name}.j2"


def _render(plan: SitePlan, template: str, view: CloudView, **extra: object) -> str:
    return render_template(TEMPLATES, template, inventory=plan.inventory.source.name, cloud=view, **extra)


def cloud_files(plan: SitePlan, node: NodeView, secrets: SecretStore) -> list[CloudFile]:
    """The node's OpenStack files: nova.conf on a compute, everything of the controller on one."""
    facts = facts_of(node)
    view = cloud_view(plan, node, secrets)
    nova = facts.service("nova")
    assert nova is not None  # the release data has Nova wherever it has OpenStack
    if node.openstack is OpenStackRole.COMPUTE:
        return [CloudFile(nova.configs[0], _render(plan, _template(facts, nova.configs[0]), view), nova.user)]
    files = [CloudFile(path, _render(plan, _template(facts, path), view), s.user)
             for s in facts.services for path in s.configs]
    for service in facts.services:
        if service.uwsgi is not None:
            text = _render(plan, "openstack/uwsgi.ini.j2", view, service=service, uwsgi=service.uwsgi)
            files.append(CloudFile(service.uwsgi.ini, text, "root", secret=False))
    if facts.sql_config:
        files.append(CloudFile(facts.sql_config, _render(plan, "openstack/sql.cnf.j2", view), "root", secret=False))
    openrc = _render(plan, _template(facts, ADMIN_OPENRC), view, user=ADMIN_USER, project=ADMIN_USER)
    files.append(CloudFile(ADMIN_OPENRC, openrc, "root"))
    return files
