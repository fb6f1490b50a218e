"""The controller's first-boot database bootstrap against a real MariaDB (started here in a temporary
data directory): every service's databases and user come from the configs kickbake renders
(keystone.conf, glance-api.conf, placement.conf, nova.conf), each user can log in with its
password, and a second run changes nothing. systemctl cannot run on this
host, so `systemctl start mariadb` is the one command the test answers itself (the server is
already up); every SQL statement goes through the real mysql client to the real server."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kickbake.commands import render_site
from kickbake.firstboot import actions, openstack
from tests.conftest import SITES

pytestmark = pytest.mark.realtool


@pytest.fixture(scope="module")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not (shutil.which("mariadbd") and shutil.which("mariadb-install-db") and shutil.which("mysql")):
        pytest.skip("mariadb-server-core / mariadb-client-core are not installed (./kb test installs them)")
    base = tmp_path_factory.mktemp("mariadb")
    socket = base / "mysqld.sock"
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={base / 'data'}", "--user=root",
                    "--auth-root-authentication-method=socket"], check=True, capture_output=True, timeout=120)
    server = subprocess.Popen(["mariadbd", "--no-defaults", f"--datadir={base / 'data'}", f"--socket={socket}",
                               "--skip-networking", "--user=root", f"--pid-file={base / 'mysqld.pid'}",
                               f"--log-error={base / 'error.log'}"])
    try:
        deadline = time.monotonic() + 60
        while not socket.exists():
            assert server.poll() is None and time.monotonic() < deadline, (base / "error.log").read_text()
            time.sleep(0.2)
        yield socket
    finally:
        server.terminate()
        server.wait(timeout=60)


def on(socket: Path) -> actions.Context:
    """The agent's context, its commands pointed at this server's socket."""
    ran: list[list[str]] = []

    def run(argv, check=True, env=None, input=None, secret=None):
        ran.append(list(argv))
        if argv[:2] == ["systemctl", "start"]:
            return actions.Result(0, "")
        if argv[0] == "mysql":
            argv = ["mysql", f"--socket={socket}", *argv[1:]]
        return actions.run(argv, check=check, env=env, input=input, secret=secret)

    context = actions.Context(bundle={}, bundle_dir="", log=lambda m: None, run=run, sleep=time.sleep)
    context.ran = ran  # type: ignore[attr-defined]
    return context


def sql(socket: Path, statement: str, user: str = "root", password: str = "", database: str = "") -> str:
    argv = ["mysql", f"--socket={socket}", f"--user={user}", "-N", "-e", statement]
    if password:
        argv.insert(3, f"--password={password}")
    return subprocess.run([*argv, *([database] if database else [])], check=True, capture_output=True, text=True,
                          timeout=30).stdout


def rendered_nova_conf(tmp_path: Path, site: str) -> Path:
    return rendered_controller(tmp_path, site) / "etc" / "nova" / "nova.conf"


def rendered_controller(tmp_path: Path, site: str) -> Path:
    out = tmp_path / "output"
    if not (out / site).exists():
        render_site(SITES / f"{site}.yml", out)
    return out / site / "nodes" / "controller"


def test_the_controller_gets_every_services_databases_and_user_from_its_configs(mariadb: Path,
                                                                                tmp_path: Path) -> None:
    controller = rendered_controller(tmp_path, "lab-debian")
    configs = [str(controller / "etc" / c) for c in ("keystone/keystone.conf", "glance/glance-api.conf",
                                                      "placement/placement.conf", "nova/nova.conf")]
    conf = configs[-1]
    [database, api] = [openstack.nova_settings(conf)[s]["connection"] for s in ("database", "api_database")]
    password = database.split(":")[2].split("@")[0]
    context = on(mariadb)
    result = openstack.sql_databases(context, {"configs": configs, "service": "mariadb"})
    assert result == "databases keystone, glance, placement, nova_api, nova, nova_cell0"
    assert ["systemctl", "start", "mariadb"] in context.ran  # type: ignore[attr-defined]
    assert not any(password in word for argv in context.ran for word in argv)  # type: ignore[attr-defined]
    for name in ("nova", "nova_api", "nova_cell0"):
        assert sql(mariadb, "SELECT DATABASE()", "nova", password, name).strip() == name
    for name, user, secret in openstack.config_databases(configs[:3]):
        assert sql(mariadb, "SELECT DATABASE()", user, secret, name).strip() == name
    assert api.endswith("/nova_api")
    assert openstack.sql_databases(on(mariadb), {"configs": configs, "service": "mariadb"}) == result
    grants = sql(mariadb, "SHOW GRANTS FOR 'nova'@'%'")
    assert "ALL PRIVILEGES ON `nova_cell0`.*" in grants and "ALL PRIVILEGES ON `nova_api`.*" in grants


def test_the_legacy_flag_file_gives_one_database(mariadb: Path, tmp_path: Path) -> None:
    conf = rendered_nova_conf(tmp_path, "lab-legacy")
    settings = openstack.nova_settings(str(conf))
    assert openstack.mysql_databases(settings)[0][:2] == ("nova", "nova")
    assert openstack.rabbit_credentials(settings)[0] == "nova"
    assert openstack.sql_databases(on(mariadb), {"configs": [str(conf)], "service": "mysqld"}) == "databases nova"


def test_a_password_with_quotes_survives_the_sql(mariadb: Path, tmp_path: Path) -> None:
    conf = tmp_path / "nova.conf"
    conf.write_text("[database]\nconnection = mysql+pymysql://quoted:it%27s%5C%22x@controller/quoted_db\n")
    openstack.sql_databases(on(mariadb), {"configs": [str(conf)], "service": "mariadb"})
    assert sql(mariadb, "SELECT 1", "quoted", "it's\\\"x", "quoted_db").strip() == "1"


def test_rabbit_credentials_come_from_the_transport_url(tmp_path: Path) -> None:
    conf = rendered_nova_conf(tmp_path, "lab-debian")
    user, password = openstack.rabbit_credentials(openstack.nova_settings(str(conf)))
    assert user == "nova" and len(password) == 48
    bad = tmp_path / "bad.conf"
    bad.write_text("[DEFAULT]\ntransport_url = kafka://x\n[database]\nconnection = mysql://a:b@c/d\n"
                   "[api_database]\nconnection = mysql://a:b@c/d_api\n")
    with pytest.raises(actions.StepFailed, match="transport_url is not rabbit"):
        openstack.rabbit_credentials(openstack.nova_settings(str(bad)))
    databases = openstack.mysql_databases(openstack.nova_settings(str(bad)))
    assert json.dumps(databases) == '[["d_api", "a", "b"], ["d", "a", "b"], ["d_cell0", "a", "b"]]'
