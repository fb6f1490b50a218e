"""The first-boot agent as it is installed on a node, the same files on every install path:
the image build copies them in (elements/kickbake-firstboot), a kickstart install unpacks them
from the node's install bundle (kickbake.render.install)."""

from __future__ import annotations

from pathlib import Path

from kickbake.paths import ELEMENTS_DIR, PACKAGE_DIR

FIRSTBOOT_DIR = PACKAGE_DIR / "firstboot"
AGENT_DIR = "usr/lib/kickbake"
AGENT = f"{AGENT_DIR}/kickbake-firstboot"
AGENT_MODULES = ("actions.py", "openstack.py", "storage.py")  # imported by the agent from beside it
UNIT_NAME = "kickbake-firstboot.service"
UNIT_SOURCE = ELEMENTS_DIR / "kickbake-firstboot" / "static" / "usr" / "lib" / "systemd" / "system" / UNIT_NAME
SITE_DIR = "usr/share/kickbake/site"  # the agent's SITE_DIR: nodes/<node>/ below it


def agent_text(python: str) -> str:
    """The agent script with the release's interpreter (python 2.7 on Fedora 15/16)."""
    return f"#!{python}\n" + (FIRSTBOOT_DIR / "agent.py").read_text()


def agent_files(python: str) -> dict[str, tuple[bytes, int]]:
    """Relative path on the node -> (content, mode) of the agent and its modules."""
    files = {AGENT: (agent_text(python).encode(), 0o755)}
    for module in AGENT_MODULES:
        files[f"{AGENT_DIR}/{module}"] = ((FIRSTBOOT_DIR / module).read_bytes(), 0o644)
    return files


def unit_text() -> bytes:
    return UNIT_SOURCE.read_bytes()


def module_paths() -> list[Path]:
    return [FIRSTBOOT_DIR / "agent.py", *(FIRSTBOOT_DIR / m for m in AGENT_MODULES)]
