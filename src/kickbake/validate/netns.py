"""Run a real tool as if on a node: drbdadm and corosync only accept a config whose address is
on a local interface, so the tool runs in a fresh network + UTS namespace (`unshare -n -u`)
holding the node's host name and address on lo. Optionally a mount namespace binds a bundle
directory over an /etc path (corosync reads /etc/corosync/authkey from its fixed place).

The shell script is a fixed string; host name, address and paths reach it as positional
arguments, never as shell text."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address
from pathlib import Path

from kickbake.run import run

_AS_NODE = 'hostname "$1" && ip link set lo up && ip addr add "$2/32" dev lo && shift 2 && exec "$@"'
_AS_NODE_WITH_BIND = 'mount --bind "$3" "$4" && ' + _AS_NODE.replace("shift 2", "shift 4")


def namespaces_unavailable() -> str | None:
    """Why the namespace trick cannot run here, or None when it can."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare (util-linux) and ip (iproute2) are needed"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    return None


def run_as_node(
    argv: Sequence[str],
    hostname: str,
    address: IPv4Address,
    *,
    env: Mapping[str, str] | None = None,
    bind: tuple[Path, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` with `hostname` as host name and `address` on lo; never raises on exit codes."""
    if bind is None:
        wrapper = ["unshare", "-n", "-u", "sh", "-c", _AS_NODE, "sh", hostname, str(address)]
    else:
        source, target = bind
        wrapper = [
            "unshare",
            "-m",
            "-n",
            "-u",
            "--propagation",
            "private",
            "sh",
            "-c",
            _AS_NODE_WITH_BIND,
            "sh",
            hostname,
            str(address),
            str(source),
            target,
        ]
    return run([*wrapper, *argv], env=env, check=False, timeout=timeout)
