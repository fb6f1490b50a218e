"""nova.conf: no nova on this host, so kickbake parses it the way nova of the release does: an
ini file (oslo.config, Essex and later) or a Diablo-era gflags flag file (`--flag=value` lines),
and checks the settings the node's role needs. Values are never shown: the file holds passwords."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from kickbake.model.plan import NodeView
from kickbake.model.types import OpenStackRole
from kickbake.validate.openstackconf import secret_config_verdict

_FLAG = re.compile(r"^--(?P<name>[a-z][a-z0-9_]*)=(?P<value>.*)$")
INI_NEEDS = {
    OpenStackRole.COMPUTE: [("DEFAULT", "my_ip"), ("DEFAULT", "transport_url"), ("DEFAULT", "instances_path")],
    OpenStackRole.CONTROLLER: [
        ("DEFAULT", "my_ip"),
        ("DEFAULT", "transport_url"),
        ("DEFAULT", "instances_path"),
        ("database", "connection"),
        ("api_database", "connection"),
    ],
}
# Diablo: every service, nova-compute included, talks to the database directly
FLAG_NEEDS = ["my_ip", "sql_connection", "rabbit_host", "rabbit_password", "instances_path"]


def _ini_missing(text: str, role: OpenStackRole) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source="nova.conf")
    except configparser.Error as error:
        return [str(error).splitlines()[0]]
    return [f"missing [{s}] {k}" for s, k in INI_NEEDS[role] if not parser.has_option(s, k)]


def _flagfile_missing(text: str) -> list[str]:
    problems, seen = [], set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _FLAG.match(line)
        if match is None:
            problems.append(f"line {number}: not --flag=value")
        elif match["name"] in seen:
            problems.append(f"line {number}: --{match['name']} given twice")
        else:
            seen.add(match["name"])
    return problems + [f"missing --{name}" for name in FLAG_NEEDS if name not in seen]


def check_nova_conf(path: Path, view: NodeView) -> tuple[bool, str]:
    assert view.openstack is not None
    dialect = view.release.openstack.dialect if view.release.openstack else "ini"
    text = path.read_text()
    problems = _flagfile_missing(text) if dialect == "diablo" else _ini_missing(text, view.openstack)
    return secret_config_verdict(path, problems, f"{dialect} parses; settings for {view.openstack.value} present")
