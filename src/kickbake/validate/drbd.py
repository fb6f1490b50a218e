"""DRBD: `drbdadm -c <conf> dump all` once per member, as that member (`__DRBD_NODE__` + its
replication address on lo), with the parser of the release's DRBD dialect.

What drbd-utils 9.22 (Debian 12) does with each dialect, measured:
- It ships /usr/lib/drbd/drbdadm-83 and drbdadm-84 and execs them when the loaded module (or
  DRBD_DRIVER_VERSION_OVERRIDE) is 8.3 / 8.4. So 8.3 syntax IS still fully parsed, by the 8.3
  parser, with DRBD_DRIVER_VERSION_OVERRIDE=8.3.11; it is strict (`allow-two-primaries yes;`,
  8.4 syntax, is a parse error there).
- drbdadm-84 also accepts 8.3 syntax and upgrades it on dump (`syncer { rate }` -> `disk {
  resync-rate }`, resource-level `protocol` -> `net { protocol }`, bare `allow-two-primaries;`
  -> `allow-two-primaries yes;`).
- The native 9 parser rejects 8.3 syntax (`syncer { rate }`, `fencing` in `disk {}`): rc 10.
- drbd-utils 9.28 removed 8.3 support entirely (ChangeLog "8.3: remove"); on such a host the 8.3
  check would need an older drbd-utils.
Without an override drbdadm asks modinfo for the host's module, which would make the result
depend on the host kernel: the override is always set."""

from __future__ import annotations

import tempfile
from ipaddress import IPv4Address
from pathlib import Path

from kickbake.validate.netns import run_as_node

DRIVER_VERSION = {"8.3": "8.3.11", "8.4": "8.4.11", "9": "9.2.0"}
_NOISE = ("found __DRBD_NODE__", "PRETENDING that I am", "modinfo: not found")


def _drbd_conf(etc: Path) -> str:
    """The /etc/drbd.conf every drbd-utils package ships, pointing at the bundle's files."""
    return f'include "{etc}/drbd.d/global_common.conf";\ninclude "{etc}/drbd.d/*.res";\n'


def check_drbd(etc: Path, hostname: str, address: IPv4Address, dialect: str) -> tuple[bool, str]:
    """(ok, what drbdadm said) for the DRBD files of one node's overlay `etc`."""
    with tempfile.TemporaryDirectory(prefix="kickbake-drbd-") as tmp:
        conf = Path(tmp) / "drbd.conf"
        conf.write_text(_drbd_conf(etc.resolve()))
        env = {"__DRBD_NODE__": hostname, "DRBD_DRIVER_VERSION_OVERRIDE": DRIVER_VERSION[dialect]}
        proc = run_as_node(["drbdadm", "-c", str(conf), "dump", "all"], hostname, address, env=env)
    said = "\n".join(line for line in proc.stderr.splitlines() if line.strip() and not any(n in line for n in _NOISE))
    if proc.returncode != 0:
        return False, said or f"drbdadm exit {proc.returncode}"
    resources = proc.stdout.count("\nresource ")
    detail = f"drbdadm {DRIVER_VERSION[dialect]} parser: {resources} resource(s) for {hostname}"
    return True, f"{detail}; {said}" if said else detail


def udev_by_res(etc: Path, hostname: str, address: IPv4Address, dialect: str, minor: int) -> str | None:
    """The /dev/drbd/by-res/... name udev gives /dev/drbd<minor> on this node: drbd-utils' udev
    rule imports `drbdadm sh-udev minor-%m` and links SYMLINK_BY_RES, or drbd/by-res/$RESOURCE
    when drbdadm exports no SYMLINK (drbdadm-84 prints RESOURCE=r0/0); None when it names none."""
    with tempfile.TemporaryDirectory(prefix="kickbake-drbd-") as tmp:
        conf = Path(tmp) / "drbd.conf"
        conf.write_text(_drbd_conf(etc.resolve()))
        env = {"__DRBD_NODE__": hostname, "DRBD_DRIVER_VERSION_OVERRIDE": DRIVER_VERSION[dialect]}
        proc = run_as_node(["drbdadm", "-c", str(conf), "sh-udev", f"minor-{minor}"], hostname, address, env=env)
    said = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    if "SYMLINK_BY_RES" in said:
        return f"/dev/{said['SYMLINK_BY_RES']}"
    return f"/dev/drbd/by-res/{said['RESOURCE']}" if said.get("RESOURCE") else None
