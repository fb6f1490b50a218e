"""The first controller's first-boot steps that make the cloud (once, on one controller: Nova cells v2).

In order: every service's database and user (read from its config), Nova's RabbitMQ user, the
token cache; then per service of the release data (Keystone, Glance, Placement, Nova): its root
preparations, its manage commands once as its user (schema, Fernet keys, cells), its units; after
Keystone is up, the admin bootstrap and the registration of the service project, users, roles,
services and endpoints. Last, computes already up are mapped into cell1 (the scheduler keeps doing
it for later ones) and the step waits until every API answers. Other nodes get no OpenStack steps:
their services are only enabled (base_steps)."""

from __future__ import annotations

from typing import Any

from kickbake.firstboot.steps import Step
from kickbake.model.catalog import OpenStackFacts, OpenStackService
from kickbake.model.plan import NodeView, SitePlan
from kickbake.model.types import OpenStackRole
from kickbake.render.openstack import (
    ADMIN_OPENRC,
    ADMIN_USER,
    SERVICE_PROJECT,
    facts_of,
    first_controller,
    management_address,
    url_of,
)

API_WAIT_SECONDS = 900  # uwsgi workers import their service: minutes under qemu TCG
SERVICE_ROLES = ("admin", "service")  # service users: admin in the service project; `service` for service tokens
DIABLO_ROLES = ("Admin", "KeystoneServiceAdmin")  # the role names Diablo's keystone.conf names
DISCOVER_HOSTS = {"ini": "nova-manage cell_v2 discover_hosts --verbose"}  # cells v2 (Ocata on); Diablo has none


def as_user(command: str, user: str) -> list[str]:
    """A fixed manage command line (kickbake's text, never the inventory's) as the service's user,
    as the install guides do: run as root, the manage commands leave root-owned logs the services
    cannot open."""
    return ["su", "-s", "/bin/sh", "-c", command, user]


def bootstrap_command(facts: OpenStackFacts, url: str) -> str:
    return (f"keystone-manage bootstrap --bootstrap-username {ADMIN_USER} --bootstrap-project-name {ADMIN_USER} "
            f"--bootstrap-role-name admin --bootstrap-service-name keystone --bootstrap-region-id {facts.region} "
            f"--bootstrap-admin-url {url} --bootstrap-internal-url {url} --bootstrap-public-url {url}")


def registration(facts: OpenStackFacts, urls: dict[str, str]) -> dict[str, Any]:
    users = [{"config": s.configs[0], "section": s.auth.section, "user_option": s.auth.user,
              "password_option": s.auth.password} for s in facts.services if s.auth is not None]
    services = [{"name": s.name, "type": s.catalog.type, "url": urls[s.name]} for s in facts.services]
    roles = SERVICE_ROLES if facts.dialect == "ini" else DIABLO_ROLES
    return {"openrc": ADMIN_OPENRC, "project": SERVICE_PROJECT, "roles": list(roles), "region": facts.region,
            "users": users, "services": services}


def _service_steps(facts: OpenStackFacts, service: OpenStackService, urls: dict[str, str]) -> list[Step]:
    steps = [Step(f"{service.name}-prepare:{name}", "run", {"argv": list(argv)}, once=True)
             for name, argv in service.prepare.items()]
    for name, command in service.manage.items():
        steps.append(Step(f"{service.name}-manage:{name}", "run", {"argv": as_user(command, service.user)}, once=True))
    if service.name == "keystone" and facts.dialect == "ini":
        argv = as_user(bootstrap_command(facts, urls["keystone"]), service.user)
        steps.append(Step("keystone-bootstrap", "keystone-bootstrap", {"openrc": ADMIN_OPENRC, "argv": argv}))
    steps.append(Step(f"start-services:{service.name}", "start-services", {"services": list(service.units)}))
    if service.name == "keystone":
        steps.append(Step("http-wait:keystone", "http-wait", {"urls": [urls["keystone"]],
                                                              "timeout": API_WAIT_SECONDS}))
        action = "keystone-register" if facts.dialect == "ini" else "keystone-manage-register"
        steps.append(Step(action, action, registration(facts, urls)))
    return steps


def openstack_steps(plan: SitePlan, node: NodeView) -> list[Step]:
    controller = first_controller(plan)
    if node.openstack is not OpenStackRole.CONTROLLER or controller is None or node.hostname != controller.hostname:
        return []
    facts = facts_of(node)
    nova = facts.service("nova")
    assert nova is not None
    address = management_address(node)
    urls: dict[str, str] = {s.name: url_of(s, address) for s in facts.services}
    configs = [path for s in facts.services for path in s.configs]
    steps = [
        Step("sql-databases", "sql-databases", {"configs": configs, "service": facts.sql_service}),
        Step("rabbitmq-user", "rabbitmq-user", {"config": nova.configs[0], "service": facts.broker_service}),
    ]
    if facts.cache_service:
        steps.append(Step("start-services:cache", "start-services", {"services": [facts.cache_service]}))
    for service in facts.services:
        steps.extend(_service_steps(facts, service, urls))
    if facts.dialect in DISCOVER_HOSTS:
        steps.append(Step("nova-manage:discover-hosts", "run", {"argv": as_user(DISCOVER_HOSTS[facts.dialect],
                                                                                nova.user)}))
    api_urls = [urls[s.name].split("%(")[0] for s in facts.services]  # Diablo's compute URL names the tenant
    steps.append(Step("http-wait:apis", "http-wait", {"urls": api_urls, "timeout": API_WAIT_SECONDS}))
    return steps
