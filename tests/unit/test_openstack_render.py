"""The controller's cloud as rendered: the files of every OpenStack service (parsed the way the
agent and the services read them), the first-boot order, and where the passwords are (secret files
only: never node.json, a kickstart or the agent's log)."""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import pytest

from kickbake.errors import BadInput
from kickbake.firstboot import actions, openstack
from kickbake.model import load_site, plan
from kickbake.render.openstack import management_address
from tests.bundles import TEST_SECRETS, render, tree
from tests.conftest import SITES

CLOUD_SECRETS = [v.decode() for k, v in TEST_SECRETS.items()
                 if k.split("-")[0] in ("keystone", "glance", "placement", "nova", "rabbitmq")]
DEBIAN_ORDER = [
    "sql-databases", "rabbitmq-user", "start-services:cache",
    "keystone-prepare:fernet_setup", "keystone-prepare:credential_setup", "keystone-manage:db_sync",
    "keystone-bootstrap", "start-services:keystone", "http-wait:keystone", "keystone-register",
    "glance-manage:db_sync", "start-services:glance", "placement-manage:db_sync", "start-services:placement",
    "nova-manage:api_db", "nova-manage:map-cell0", "nova-manage:create-cell1", "nova-manage:db",
    "start-services:nova", "nova-manage:discover-hosts", "http-wait:apis",
]


def node_json(out: Path, node: str) -> dict:
    return json.loads((out / "nodes" / node / "node.json").read_text())


def etc(out: Path, node: str, path: str) -> Path:
    return out / "nodes" / node / path.lstrip("/")


def test_the_controller_comes_up_in_install_guide_order(out_root: Path) -> None:
    out = render(SITES / "lab-debian.yml", out_root)
    ids = [s["id"] for s in node_json(out, "controller")["steps"]]
    assert ids[ids.index("sql-databases"):] == DEBIAN_ORDER
    steps = {s["id"]: s for s in node_json(out, "controller")["steps"]}
    assert steps["start-services:nova"]["args"]["services"][0] == "nova-conductor"
    assert steps["sql-databases"]["args"]["configs"] == ["/etc/keystone/keystone.conf", "/etc/glance/glance-api.conf",
                                                        "/etc/placement/placement.conf", "/etc/nova/nova.conf"]
    register = steps["keystone-register"]["args"]
    assert {s["type"]: s["url"] for s in register["services"]} == {
        "identity": "http://192.168.122.10:5000/v3", "image": "http://192.168.122.10:9292",
        "placement": "http://192.168.122.10:8778", "compute": "http://192.168.122.10:8774/v2.1"}
    every_boot = [s["id"] for s in steps.values() if "-manage:" in s["id"] and not s["once"]]
    assert every_boot == ["nova-manage:discover-hosts"]
    for compute in ("drbd-node1", "drbd-node2"):
        compute_steps = node_json(out, compute)["steps"]
        assert not any(s["id"].startswith(("sql-", "keystone", "nova-manage")) for s in compute_steps)


@pytest.mark.parametrize("site", ["lab-debian", "lab-el9", "lab-legacy"])
def test_passwords_live_in_secret_files_only(site: str, out_root: Path) -> None:
    out = render(SITES / f"{site}.yml", out_root)
    files = tree(out)
    holders = {name for name, data in files.items() if any(p.encode() in data for p in CLOUD_SECRETS)}
    kept = {name for name in holders if name.startswith("secrets/")}  # the store, and the per-install bundles in it
    assert holders - kept, "the configs carry the passwords"
    for name in sorted(holders - kept):
        assert not name.endswith("node.json") and "kickstarts/" not in name, name
        node = name.split("/")[1]
        entry = next(f for f in node_json(out, node)["files"] if name.endswith(f["source"]))
        assert entry["secret"] and entry["mode"] in ("0600", "0640"), entry
        assert (out / name).stat().st_mode & 0o777 == 0o600


def test_every_ini_parses_and_the_agent_finds_databases_and_users(out_root: Path) -> None:
    out = render(SITES / "lab-debian.yml", out_root)
    configs = [f["path"] for f in node_json(out, "controller")["files"] if f["path"].endswith((".conf", ".ini"))
               and f["path"] != "/etc/hosts"]
    for path in configs:  # strict: no duplicate section or option
        configparser.ConfigParser(interpolation=None, strict=True).read_string(etc(out, "controller", path).read_text())
    services = [str(etc(out, "controller", p)) for p in ("/etc/keystone/keystone.conf", "/etc/glance/glance-api.conf",
                                                          "/etc/placement/placement.conf", "/etc/nova/nova.conf")]
    databases = openstack.config_databases(services)
    assert [(d, u) for d, u, _ in databases] == [("keystone", "keystone"), ("glance", "glance"),
                                                 ("placement", "placement"), ("nova_api", "nova"), ("nova", "nova"),
                                                 ("nova_cell0", "nova")]
    assert {p for _, _, p in databases} == {TEST_SECRETS[f"{n}-db.password"].decode()
                                            for n in ("keystone", "glance", "placement", "nova")}
    users = openstack.service_users([{"config": path, "section": "keystone_authtoken", "user_option": "username",
                                      "password_option": "password"} for path in services[1:]])
    names = ("glance", "placement", "nova")
    assert users == sorted((n, TEST_SECRETS[f"{n}-keystone.password"].decode()) for n in names)
    openrc = openstack.read_openrc(str(etc(out, "controller", "/root/admin-openrc")))
    assert openrc["OS_PASSWORD"] == TEST_SECRETS["keystone-admin.password"].decode()
    assert openrc["OS_AUTH_URL"] == "http://192.168.122.10:5000/v3"


def test_uwsgi_runs_the_sites_worker_count_without_apparmor(tmp_path: Path, out_root: Path) -> None:
    text = (SITES / "lab-debian.yml").read_text().replace("openstack:\n", "openstack:\n  workers: 3\n")
    (tmp_path / "lab-debian.yml").write_text(text)
    out = render(tmp_path / "lab-debian.yml", out_root)
    for path, app in (("/etc/keystone/keystone-uwsgi.ini", "/usr/bin/keystone-wsgi-public"),
                      ("/etc/nova/nova-api-uwsgi.ini", "/usr/bin/nova-api-wsgi"),
                      ("/etc/placement/placement-api-uwsgi.ini", "/usr/bin/placement-api")):
        ini = configparser.ConfigParser(interpolation=None, strict=True)
        ini.read_string(etc(out, "controller", path).read_text())
        assert ini["uwsgi"]["processes"] == "3" and ini["uwsgi"]["wsgi-file"] == app
        assert "apparmor" not in ini["uwsgi"]["plugins"] and "apparmor-profile" not in ini["uwsgi"]
    nova = configparser.ConfigParser(interpolation=None)
    nova.read_string(etc(out, "controller", "/etc/nova/nova.conf").read_text())
    assert nova["conductor"]["workers"] == nova["scheduler"]["workers"] == "3"


def test_a_compute_gets_only_nova_conf_with_placement_and_no_database(out_root: Path) -> None:
    out = render(SITES / "lab-debian.yml", out_root)
    paths = {f["path"] for f in node_json(out, "drbd-node1")["files"]}
    assert "/etc/nova/nova.conf" in paths and not paths & {"/etc/keystone/keystone.conf", "/root/admin-openrc"}
    nova = configparser.ConfigParser(interpolation=None)
    nova.read_string(etc(out, "drbd-node1", "/etc/nova/nova.conf").read_text())
    assert "database" not in nova and nova["placement"]["username"] == "placement"
    assert nova["vnc"]["novncproxy_base_url"] == "http://192.168.122.10:6080/vnc_auto.html"


def test_the_diablo_controller_registers_with_keystone_manage(out_root: Path) -> None:
    """Legacy lab (rendered and checked only): the databases come from the flag file and the
    Diablo keystone/glance files, registration is keystone-manage with masked passwords."""
    out = render(SITES / "lab-legacy.yml", out_root)
    steps = {s["id"]: s for s in node_json(out, "controller")["steps"]}
    assert "keystone-bootstrap" not in steps and "nova-manage:api_db" not in steps
    configs = [str(etc(out, "controller", p)) for p in steps["sql-databases"]["args"]["configs"]]
    assert [d for d, _, _ in openstack.config_databases(configs)] == ["keystone", "glance", "nova"]
    args = json.loads(json.dumps(steps["keystone-manage-register"]["args"]))
    args["openrc"] = str(etc(out, "controller", args["openrc"]))
    for user in args["users"]:
        user["config"] = str(etc(out, "controller", user["config"]))
    ran: list[list[str]] = []

    def run(argv, check=True, env=None, input=None, secret=None):
        ran.append(list(argv))
        return actions.Result(0, "admin\n" if argv[-1] == "list" and argv[1] == "tenant" else "")

    context = actions.Context(bundle={}, bundle_dir="", log=lambda m: None, run=run)
    assert openstack.keystone_manage_register(context, args) == "2 users, 3 services"
    commands = [" ".join(argv[1:4]) for argv in ran]
    assert "tenant add service" in commands and "tenant add admin" not in commands
    assert "user add glance" in commands and "service add nova" in commands
    identity = next(argv for argv in ran if argv[1] == "endpointTemplates")
    assert identity[3:6] == ["RegionOne", "keystone", "http://192.168.122.10:5000/v2.0"]
    assert not any(TEST_SECRETS["glance-keystone.password"].decode() in " ".join(a) for a in ran if a[1] != "user")


def test_my_ip_is_never_another_networks_address(tmp_path: Path) -> None:
    text = (SITES / "lab-debian.yml").read_text()
    dhcp = text.replace('network: mgmt, address: 192.168.122.11}', 'network: mgmt}')
    (tmp_path / "lab.yml").write_text(dhcp)
    site_plan = plan(load_site(tmp_path / "lab.yml"))
    with pytest.raises(BadInput, match="static address on its management network"):
        management_address(site_plan.node("drbd-node1"))
    assert str(management_address(site_plan.node("drbd-node2"))) == "192.168.122.12"
