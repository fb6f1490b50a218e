"""Netboot state: whether a node's PXE entry installs it (`install`) or boots its own disk (`local`).

Kept in output/<site>/state/netboot.json, carried into every new generation like secrets/ and
records/. A node starts in `install`; its install report flips it to `local` (so a machine that
network-boots first does not reinstall itself on every reboot); `./kb netboot` shows and sets it."""

from __future__ import annotations

import json
from pathlib import Path

from kickbake.output import Stage

INSTALL, LOCAL = "install", "local"
STATES = (INSTALL, LOCAL)
STATE_FILE = "state/netboot.json"


def read_netboot(generation: Path) -> dict[str, str]:
    """node -> state as last written ({} when there is none yet)."""
    path = generation / STATE_FILE
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {str(k): str(v) for k, v in data.items() if v in STATES}


def netboot_states(nodes: list[str], stage: Stage, changes: dict[str, str] | None = None) -> dict[str, str]:
    """Every node's state for this generation (carried state, then `changes`); written back."""
    carried = read_netboot(stage.root)
    states = {node: (changes or {}).get(node, carried.get(node, INSTALL)) for node in sorted(nodes)}
    stage.write(STATE_FILE, json.dumps(states, indent=2, sort_keys=True) + "\n")
    return states
