"""Resource agents of a rendered cib.xml against their own metadata: every primitive's agent
exists and gets its required parameters, and no parameter it does not know.

crm_verify does not look at agents at all (it passes a CIB naming ocf:heartbeat:Nope), so the
metadata comes from pacemaker's own tools, as the cluster asks for it before it starts a resource:
`crm_resource --show-metadata ocf:<provider>:<type>` (OCF resource agent API 1.1, the
<parameter required="1"> attribute) and `stonith_admin --metadata -a <agent>` (fence-agents).
Both exit 105 (ENXIO) for an agent that is not installed. Parameters a fence agent replaced keep
working under their old name (`obsoletes`/`deprecated`: fence_ipmilan's ip and ipaddr), and
the pcmk_* parameters are pacemaker's own for every fence device (Pacemaker Explained, "Special
Options for Fencing Resources"), never in an agent's metadata.

The agents are the host's (Debian 12: resource-agents 4.12, fence-agents 4.12, pacemaker 2.1.5):
an oracle for names and required parameters, which change rarely between releases."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from kickbake.run import run


@dataclass(frozen=True)
class Primitive:
    id: str
    agent: str  # ocf:heartbeat:LVM-activate, or the fence agent's name for class stonith
    stonith: bool
    params: frozenset[str]


@dataclass(frozen=True)
class Parameters:
    required: frozenset[str]
    known: frozenset[str]
    aliases: dict[str, str]  # old name -> the name that replaced it, both ways usable


def primitives(cib: Path) -> list[Primitive]:
    """The primitives of a CIB with an agent the metadata tools answer for (ocf, stonith)."""
    found = []
    for prim in ET.parse(cib).getroot().iter("primitive"):
        klass = prim.get("class", "")
        if klass not in ("ocf", "stonith"):
            continue
        agent = prim.get("type", "") if klass == "stonith" else f"ocf:{prim.get('provider')}:{prim.get('type')}"
        params = frozenset(
            nv.get("name", "") for attrs in prim.findall("instance_attributes") for nv in attrs.findall("nvpair")
        )
        found.append(Primitive(prim.get("id", ""), agent, klass == "stonith", params))
    return found


def metadata(agent: str, stonith: bool) -> Parameters | None:
    """The agent's parameters from pacemaker's tools; None when the agent is not installed."""
    argv = ["stonith_admin", "--metadata", "-a", agent] if stonith else ["crm_resource", "--show-metadata", agent]
    proc = run(argv, check=False, timeout=60)
    if proc.returncode != 0 or "<resource-agent" not in proc.stdout:
        return None
    root = ET.fromstring(proc.stdout[proc.stdout.index("<resource-agent"):])
    params = root.findall("./parameters/parameter")
    aliases = {p.get("obsoletes", ""): p.get("name", "") for p in params if p.get("obsoletes")}
    return Parameters(
        required=frozenset(p.get("name", "") for p in params if p.get("required") == "1"),
        known=frozenset(p.get("name", "") for p in params),
        aliases=aliases,
    )


def fence_agents_installed() -> bool:
    """True when the host has fence-agents (pacemaker alone brings only fence_legacy and
    fence_watchdog): without it a stonith primitive cannot be judged here (FEN008 checks the
    agent against the release's own list)."""
    proc = run(["stonith_admin", "--list-installed"], check=False, timeout=60)
    return any(a.startswith("fence_") and a not in _PACEMAKER_OWN for a in proc.stdout.split())


_PACEMAKER_OWN = ("fence_legacy", "fence_watchdog")


def problems_of(prim: Primitive, meta: Parameters | None) -> list[str]:
    if meta is None:
        kind = "fence agent" if prim.stonith else "resource agent"
        return [f"{prim.id}: {kind} {prim.agent} does not exist (its metadata query fails)"]
    given = prim.params | {new for old, new in meta.aliases.items() if old in prim.params}
    given |= {old for old, new in meta.aliases.items() if new in prim.params}
    found = [f"{prim.id}: {prim.agent} needs {name}, which is not set" for name in sorted(meta.required - given)]
    unknown = sorted(p for p in prim.params - meta.known if not (prim.stonith and p.startswith("pcmk_")))
    found += [f"{prim.id}: {prim.agent} has no parameter {name}" for name in unknown]
    return found


def check_agents(cib: Path) -> tuple[bool, str]:
    """(ok, what was found) for every ocf and stonith primitive of `cib`."""
    prims = primitives(cib)
    cache: dict[tuple[str, bool], Parameters | None] = {}
    found: list[str] = []
    fencing = [p for p in prims if p.stonith]
    if fencing and not fence_agents_installed():
        prims = [p for p in prims if not p.stonith]
        found_note = f"; {len(fencing)} fence device(s) not checked: fence-agents is not installed here"
    else:
        found_note = ""
    for prim in prims:
        key = (prim.agent, prim.stonith)
        if key not in cache:
            cache[key] = metadata(*key)
        found += problems_of(prim, cache[key])
    if found:
        return False, "; ".join(found)
    return True, f"{len(prims)} primitive(s), {len(cache)} agent(s): all exist, required parameters set{found_note}"
