"""corosync.conf against pcs's own: `pcs cluster setup NAME NODE addr=IP ... --corosync_conf FILE`
writes, offline and without pcsd, the corosync.conf pcs would distribute for the same cluster
(pcs(8), cluster setup: "--corosync_conf: do not set up the cluster on the nodes, only save the
config to the file"; Debian 12's pcs 0.11.5, 0.4 s). The rendered file must agree with it on
what defines the cluster: totem version, name, transport and crypto, every node's name, nodeid
and ring0_addr, and the quorum section. Not compared: pcs's random cluster_uuid and the logging
section (a site choice: kickbake logs to syslog only). corosync 3 only: pcs 0.11 cannot write
the cman era's files."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from kickbake.model.clusterview import ClusterView
from kickbake.run import run

Section = dict[str, Any]  # key -> value (str), or subsection name -> list of Section

_IGNORED = {("totem", "cluster_uuid")}
# written or not, the same setting: corosync.conf(5) 3.x crypto_cipher/crypto_hash default none
_DEFAULTS = {("totem", "crypto_cipher", "none"), ("totem", "crypto_hash", "none")}


def parse_corosync(text: str) -> Section:
    """corosync.conf's nested `name {` / `key: value` / `}` syntax as nested dicts."""
    root: Section = {}
    stack = [root]
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.endswith("{"):
            child: Section = {}
            stack[-1].setdefault(line[:-1].strip(), []).append(child)
            stack.append(child)
        elif line == "}":
            stack.pop()
        else:
            key, _, value = line.partition(":")
            stack[-1][key.strip()] = value.strip()
    return root


def _facts(conf: Section) -> set[tuple[str, ...]]:
    """(section, key, value) for totem and quorum, (node, name, nodeid, ring0_addr) per node."""
    found: set[tuple[str, ...]] = set()
    for section in ("totem", "quorum"):
        for sub in conf.get(section, []):
            found |= {(section, k, v) for k, v in sub.items() if isinstance(v, str) and (section, k) not in _IGNORED}
    for nodelist in conf.get("nodelist", []):
        for node in nodelist.get("node", []):
            found.add(("node", str(node.get("name")), str(node.get("nodeid")), str(node.get("ring0_addr"))))
    return found - _DEFAULTS


def pcs_setup_argv(view: ClusterView, out: Path) -> list[str]:
    """The pcs cluster setup an operator would type for this cluster."""
    argv = ["pcs", "cluster", "setup", view.name]
    for member in view.members:
        argv += [member.name, f"addr={member.ring_addr}"]
    argv += ["transport", view.cluster.transport]
    if view.cluster.transport == "knet" and not view.crypto:
        argv += ["crypto", "cipher=none", "hash=none"]
    if view.wait_for_all is not None:
        argv += ["quorum", f"wait_for_all={1 if view.wait_for_all else 0}"]
    return [*argv, "--corosync_conf", str(out)]


def compare_with_pcs(view: ClusterView, rendered: Path) -> tuple[bool, str]:
    """(ok, the differences) between `rendered` and the corosync.conf pcs writes for `view`."""
    with tempfile.TemporaryDirectory(prefix="kickbake-pcs-") as tmp:
        out = Path(tmp) / "corosync.conf"
        proc = run(pcs_setup_argv(view, out), check=False, timeout=60)
        if proc.returncode != 0 or not out.is_file():
            return False, f"pcs cluster setup failed (rc {proc.returncode}): {(proc.stderr or proc.stdout).strip()}"
        theirs = _facts(parse_corosync(out.read_text()))
    ours = _facts(parse_corosync(rendered.read_text()))
    if ours == theirs:
        return True, f"pcs cluster setup writes the same cluster ({len(ours)} settings)"
    only_pcs = ", ".join(" ".join(f) for f in sorted(theirs - ours))
    only_ours = ", ".join(" ".join(f) for f in sorted(ours - theirs))
    return False, f"pcs writes [{only_pcs}], the rendered file has [{only_ours}] instead"
