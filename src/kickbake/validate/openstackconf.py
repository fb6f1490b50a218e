"""The controller's OpenStack configs (keystone.conf, glance-api.conf, placement.conf, nova.conf,
Diablo's glance-registry.conf): parsed strictly as ini (a repeated section or option is an error),
their database and Keystone user present where the first-boot agent reads them, mode 0600; and,
for oslo.config releases, every option checked against the services' own option definitions by
`oslo-config-validator` (python3-oslo.config + the Debian 12 service packages: the Zed options;
an Epoxy file is checked against those too, which the result says). Values are never shown."""

from __future__ import annotations

import configparser
import shutil
import stat
from pathlib import Path

from kickbake.model.catalog import OpenStackService
from kickbake.run import run

VALIDATOR = "oslo-config-validator"
# what the host's option definitions come from (./kb test installs them): module -> package
DEFINITIONS = {"keystone": "python3-keystone", "glance": "python3-glance", "placement": "python3-placement",
               "nova": "python3-nova"}
DIST_PACKAGES = Path("/usr/lib/python3/dist-packages")
_CONNECTION = ("connection", "sql_connection")


def parse_strict(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text, source="config")
    return parser


def _connections(parser: configparser.ConfigParser) -> list[str]:
    return [parser[s][o] for s in ["DEFAULT", *parser.sections()] for o in _CONNECTION if parser.has_option(s, o)]


def check_service_config(path: Path, service: OpenStackService, first: bool) -> tuple[bool, str]:
    """`first`: the service's main config (configs[0]), where its Keystone user is."""
    try:
        parser = parse_strict(path.read_text())
    except configparser.Error as error:
        return False, str(error).splitlines()[0]
    problems = []
    if first and service.auth is not None:
        for option in (service.auth.user, service.auth.password):
            if not parser.has_option(service.auth.section, option):
                problems.append(f"missing [{service.auth.section}] {option} (Keystone registration reads it)")
    connections = _connections(parser)
    if any(not url.startswith("mysql") for url in connections):
        problems.append("a database connection that is not mysql")
    return secret_config_verdict(path, problems, f"ini parses strictly; {len(connections)} database connection(s)")


def secret_config_verdict(path: Path, problems: list[str], parsed: str) -> tuple[bool, str]:
    """(ok, what was found) for a config file that holds passwords: it must also be 0600."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode != 0o600:
        problems = [*problems, f"holds passwords but has mode {mode:04o}"]
    if problems:
        return False, "; ".join(problems)
    return True, f"{parsed}; mode 0600"


def definitions_missing(service: OpenStackService) -> str | None:
    """Why the option definitions cannot be loaded here, or None."""
    if shutil.which(VALIDATOR) is None:
        return f"{VALIDATOR} not installed (python3-oslo.config; ./kb test installs it as root)"
    if not (DIST_PACKAGES / service.name).is_dir():
        return f"{DEFINITIONS[service.name]} not installed (./kb test installs it as root)"
    return None


def check_options(path: Path, service: OpenStackService) -> tuple[bool, str]:
    """oslo-config-validator with the service's config-generator namespaces: an option that is not
    defined (a typo, a wrong section, one removed) is an error naming section/option only."""
    argv: list[str | Path] = [VALIDATOR, "--input-file", path]
    for namespace in service.options:
        argv += ["--namespace", namespace]
    proc = run(argv, check=False, timeout=120)
    errors = [line.split(":", 2)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    if proc.returncode != 0:
        return False, "; ".join(errors) or proc.stderr.strip()[-300:]
    return True, f"every option defined ({len(service.options)} namespaces of the host's {service.name})"
