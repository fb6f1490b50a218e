"""Install stage: what a node installed over the network (kickstart) gets to end configured.

A baked image carries the first-boot agent and the node bundles; a kickstart install gets the
same files from its node's install bundle, so both paths run the same first boot. Per node of a
site with a `pxe:` section:

- `secrets/install/<node>.tar` (0600): the agent and its modules, its systemd unit (enabled), the
  node's bundle from nodes/<node>/ and etc/kickbake/install.json; deterministic bytes;
- `secrets/install/<node>.token` (0600): the node's one-shot install credential, made while the
  node's netboot state is `install` and dropped when it reports (or is set to `local`);
- the install script (kickbake/firstboot/install.py with its CONFIG): the kickstart's last
  %post, also `secrets/install/<node>.py` for nodes installed by other means (Debian).

The boot server (./kb serve, or nginx in front of it) hands the tar out only to the node's own
addresses with its token; the kickstart holds the tar's sha256. Nothing here is published: the
token is in the node's own kickstart only, which is likewise served to that node alone."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, replace
from pathlib import Path

from kickbake.firstboot.agent import bundle_hash
from kickbake.firstboot.installed import FIRSTBOOT_DIR, SITE_DIR, UNIT_NAME, agent_files, unit_text
from kickbake.model.plan import NodeView, SitePlan
from kickbake.output import Stage
from kickbake.record.rpmdb import QUERY_FORMAT
from kickbake.render.bundle import NODES_DIR
from kickbake.render.netboot import INSTALL
from kickbake.render.pxe_view import base_url
from kickbake.render.secrets import SECRETS_DIR, SecretStore

INSTALL_DIR = "install"  # below secrets/: never published as files, handed out by the boot server
INSTALL_RECORD = "etc/kickbake/install.json"
UNIT_PATH = f"etc/systemd/system/{UNIT_NAME}"
UNIT_WANTS = f"etc/systemd/system/multi-user.target.wants/{UNIT_NAME}"
SCRIPT = FIRSTBOOT_DIR / "install.py"


@dataclass(frozen=True)
class InstallDelivery:
    """How one node's install ends: the values its install script (and kickstart) carry."""

    node: str
    python: str  # the node's interpreter for the script (%post --interpreter)
    bundle_url: str
    report_url: str
    bundle_sha256: str
    token: str | None  # None: the node boots locally, the script refuses to install
    config: dict[str, str]

    def for_liveimg(self) -> InstallDelivery:
        """The liveimg variant: the image carries agent and bundles; the script only reports."""
        config = {**self.config, "bundle_url": "", "bundle_sha256": "", "installed_by": "liveimg"}
        return replace(self, bundle_url="", bundle_sha256="", config=config)

    @property
    def script(self) -> str:
        """install.py with this node's CONFIG: the text a kickstart %post runs."""
        literal = ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(self.config.items()))
        return f"{SCRIPT.read_text()}\nCONFIG = {{\n{literal},\n}}\nsys.exit(main(CONFIG))\n"


def install_urls(site_plan: SitePlan, node: str) -> tuple[str, str]:
    """(bundle URL, report URL) of a node on the site's boot server."""
    pxe = site_plan.site.pxe
    assert pxe is not None
    site = f"{base_url(pxe)}/{site_plan.site.site}"
    return f"{site}/{INSTALL_DIR}/{node}.tar", f"{site}/report/{node}"


def _tar_member(name: str, mode: int, data: bytes | None = None, link: str | None = None) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode, info.uid, info.gid, info.uname, info.gname, info.mtime = mode, 0, 0, "root", "root", 0
    if link is not None:
        info.type, info.linkname = tarfile.SYMTYPE, link
    elif data is None:
        info.type = tarfile.DIRTYPE
    else:
        info.size = len(data)
    return info


def bundle_tar(node: NodeView, bundle_dir: Path, record: dict[str, str]) -> bytes:
    """The node's install bundle: the same agent, unit and bundle layout a baked image has."""
    files: dict[str, tuple[bytes, int]] = dict(agent_files(node.release.firstboot.python))
    files[UNIT_PATH] = (unit_text(), 0o644)
    files[INSTALL_RECORD] = ((json.dumps(record, indent=2, sort_keys=True) + "\n").encode(), 0o644)
    site_root = f"{SITE_DIR}/{NODES_DIR}/{node.hostname}"
    dirs = {"usr/lib/kickbake": 0o755, "usr/share/kickbake": 0o755, SITE_DIR: 0o700, f"{SITE_DIR}/{NODES_DIR}": 0o700}
    for path in sorted(bundle_dir.rglob("*")):
        relative = f"{site_root}/{path.relative_to(bundle_dir)}"
        if path.is_dir():
            dirs[relative] = 0o700
        else:  # the bundle holds keys: nobody but root reads it, as in the image (go-rwx)
            files[relative] = (path.read_bytes(), path.stat().st_mode & 0o700)
    dirs[site_root] = 0o700
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(dirs):
            tar.addfile(_tar_member(name, dirs[name]))
        for name in sorted(files):
            data, mode = files[name]
            tar.addfile(_tar_member(name, mode, data), io.BytesIO(data))
        tar.addfile(_tar_member(UNIT_WANTS, 0o777, link=f"/{UNIT_PATH}"))
    return buffer.getvalue()


def _record(site_plan: SitePlan, node: NodeView, bundle_dir: Path, digest: str) -> dict[str, str]:
    record = {"site": site_plan.site.site, "node": node.hostname, "release": node.release.name,
              "installed_by": "kickstart" if node.has_kickstart else "install-script",
              "inputs_digest": digest, "bundle_hash": bundle_hash(str(bundle_dir))}
    identity = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]
    record["image_id"] = f"install-{node.hostname}-{identity}"  # what the done-stamp records
    return record


def render_install(
    site_plan: SitePlan, stage: Stage, digest: str, netboot: dict[str, str], secrets: SecretStore
) -> dict[str, InstallDelivery]:
    """Write every node's install bundle (and, in state `install`, its token); node -> delivery."""
    if site_plan.site.pxe is None:
        return {}
    deliveries = {}
    for node in site_plan.nodes:
        name = node.hostname
        bundle_dir = stage.path(f"{NODES_DIR}/{name}")
        record = _record(site_plan, node, bundle_dir, digest)
        data = bundle_tar(node, bundle_dir, record)
        stage.write(f"{SECRETS_DIR}/{INSTALL_DIR}/{name}.tar", data, 0o600)
        token = secrets.install_token(name) if netboot[name] == INSTALL else None
        if token is None:
            secrets.drop(f"{INSTALL_DIR}/{name}.token")
        bundle_url, report_url = install_urls(site_plan, name)
        sha256 = hashlib.sha256(data).hexdigest()
        config = {"site": site_plan.site.site, "node": name, "bundle_url": bundle_url, "report_url": report_url,
                  "bundle_sha256": sha256, "token": token or "", "package_db": node.release.firstboot.package_db,
                  "rpm_query": QUERY_FORMAT, "inputs_sha256": digest, "installed_by": record["installed_by"]}
        delivery = InstallDelivery(name, node.release.firstboot.python, bundle_url, report_url, sha256, token, config)
        stage.write(f"{SECRETS_DIR}/{INSTALL_DIR}/{name}.py", delivery.script, 0o600)
        deliveries[name] = delivery
    _drop_unknown(stage, {n.hostname for n in site_plan.nodes})
    return deliveries


def _drop_unknown(stage: Stage, nodes: set[str]) -> None:
    """Tokens and bundles of nodes the inventory no longer has are not carried on."""
    directory = stage.path(f"{SECRETS_DIR}/{INSTALL_DIR}")
    for path in sorted(directory.iterdir()) if directory.is_dir() else []:
        if path.name.rsplit(".", 1)[0] not in nodes:
            os.unlink(path)
