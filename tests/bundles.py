"""Helpers for node-bundle tests: render a bundled site with fixed test secrets."""

from __future__ import annotations

import tempfile
from pathlib import Path

from kickbake import commands
from kickbake.output import seed_generation

# stand-in secrets so golden files are stable; real renders generate them with os.urandom
TEST_SECRETS = {
    "drbdclu.authkey": bytes(range(256)),
    "nova-db.password": b"test-nova-db-password",
    "rabbitmq-nova.password": b"test-rabbitmq-nova-password",
    **{f"{name}.password": f"test-{name}-password".encode() for name in (
        "keystone-admin", "keystone-db", "glance-db", "glance-keystone", "placement-db", "placement-keystone",
        "nova-keystone")},
    "drbd-r0.password": b"test-drbd-r0-shared-secret",
    **{f"install/{node}.token": f"test-install-token-{node}".encode()
       for node in ("controller", "drbd-node1", "drbd-node2")},
}


def seed_secrets(out_root: Path, site: str) -> None:
    """A first generation of output/<site>/ holding the stand-in secrets; render keeps them."""
    with tempfile.TemporaryDirectory() as scratch:
        secrets = Path(scratch) / "secrets"
        for name, data in TEST_SECRETS.items():
            (secrets / name).parent.mkdir(parents=True, exist_ok=True)
            (secrets / name).write_bytes(data)
        out_root.mkdir(parents=True, exist_ok=True)
        seed_generation(out_root, site, secrets)


def render(site_path: Path, out_root: Path, seeded: bool = True) -> Path:
    if seeded:
        seed_secrets(out_root, site_path.stem)
    result = commands.render_site(site_path, out_root)
    return Path(result.output).resolve()


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
