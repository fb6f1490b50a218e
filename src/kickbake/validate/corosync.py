"""corosync 3: `corosync -c /etc/corosync/corosync.conf -t` as the node. corosync 3.1.7 finds the
local node by a ring0_addr on a local interface, else by `uname -n` equal to a nodelist name
(measured: a foreign address passes when the host name matches; neither -> rc 8), so both the
address (on lo) and the host name are set; with crypto on it also reads
/etc/corosync/authkey, so the bundle's etc/corosync is bound over /etc/corosync in a private
mount namespace (the host's own files are never touched)."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

from kickbake.validate.netns import run_as_node

ETC_COROSYNC = "/etc/corosync"


def check_corosync(corosync_dir: Path, hostname: str, address: IPv4Address) -> tuple[bool, str]:
    argv = ["corosync", "-c", f"{ETC_COROSYNC}/corosync.conf", "-t"]
    proc = run_as_node(argv, hostname, address, bind=(corosync_dir.resolve(), ETC_COROSYNC))
    said = (proc.stderr + proc.stdout).strip()
    if proc.returncode != 0:
        # the config file paths in messages are the node's; semantic errors come without a line
        return (
            False,
            said or f"corosync -t exit {proc.returncode} (an error it logs only to syslog)",
        )
    return True, said or f"corosync -t: valid for {hostname} ({address})"
