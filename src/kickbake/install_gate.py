"""Who may fetch a node's install bundle or kickstart, and report its install: the boot server's
checks, shared by `./kb serve` and (behind nginx) the production setup.

A request for node N is let through only when
- it comes from one of N's inventory addresses (dnsmasq reserves them per MAC; a node without a
  static address is checked by its token alone), and
- for the bundle and the report: it carries N's install token (X-Kickbake-Token), compared in
  constant time; the token exists only while N's netboot state is `install` and is retired by N's
  report, so a replayed token is refused.
Every refusal says why, for the install log of the node that was refused."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from ipaddress import ip_address
from pathlib import Path

from kickbake.errors import KickbakeError
from kickbake.model.plan import SitePlan
from kickbake.render.install import INSTALL_DIR
from kickbake.render.pxe_view import image_of
from kickbake.render.secrets import SECRETS_DIR

TOKEN_HEADER = "X-Kickbake-Token"
MAX_REPORT_BYTES = 32 * 1024 * 1024  # a dpkg status of a full controller is ~2 MB


@dataclass(frozen=True)
class Verdict:
    status: HTTPStatus
    message: str


class RecordExists(KickbakeError):
    """The node is recorded already: a second report must not overwrite it silently."""


ReportHandler = Callable[[str, str, bytes], str]  # (node, package db, body) -> what was recorded


class InstallGate:
    """The checks for one site; `record` turns an accepted report into records + netboot local."""

    def __init__(self, out_root: Path, site_plan: SitePlan, record: ReportHandler) -> None:
        self.out_root, self.site = out_root, site_plan.site.site
        self.addresses = {n.hostname: {str(i.address) for i in n.interfaces if i.address} for n in site_plan.nodes}
        self.images = {n.hostname: image.name for n in site_plan.nodes if (image := image_of(site_plan, n))}
        # image tar and install script are handed out for installs from the image only (no anaconda:
        # Debian); a kickstart carries its script itself
        self.image_installed = {n.hostname for n in site_plan.nodes if not n.has_kickstart}
        self.record = record
        self._lock = threading.Lock()  # one report at a time: each re-renders the site

    def _secret(self, relative: str) -> Path:
        return self.out_root / self.site / SECRETS_DIR / INSTALL_DIR / relative

    def from_node(self, node: str, client: str) -> Verdict | None:
        """None when `client` may speak for `node`, else the refusal."""
        if node not in self.addresses:
            return Verdict(HTTPStatus.NOT_FOUND, f"no node {node} in site {self.site}")
        allowed = self.addresses[node]
        try:
            seen = ip_address(client).exploded
        except ValueError:  # only X-Real-IP can be malformed: whatever sets it is misconfigured
            return Verdict(HTTPStatus.BAD_REQUEST, f"{client!r} is not an IP address")
        if allowed and seen not in {ip_address(a).exploded for a in allowed}:
            known = ", ".join(sorted(allowed))
            return Verdict(HTTPStatus.FORBIDDEN, f"{client} is not {node} (its addresses: {known})")
        return None

    def authorise(self, node: str, client: str, token: str | None) -> Verdict | None:
        refused = self.from_node(node, client)
        if refused:
            return refused
        path = self._secret(f"{node}.token")
        if not path.is_file():
            return Verdict(HTTPStatus.FORBIDDEN, f"{node} has no install token: it is set to boot locally "
                                                 f"(./kb netboot --node {node} --install to reinstall)")
        if not token or not hmac.compare_digest(token.encode(), path.read_bytes().strip()):
            return Verdict(HTTPStatus.FORBIDDEN, f"wrong or missing {TOKEN_HEADER} for {node}")
        return None

    def _hand_out(self, node: str, client: str, token: str | None, path: Path, missing: str,
                  image_install: bool = False) -> Path | Verdict:
        """`path` when `client` is `node` with its token (and, for `image_install`, a node that
        installs from its image: a kickstart carries its script itself); else the refusal."""
        refused = self.authorise(node, client, token)
        if refused is None and image_install and node not in self.image_installed:
            refused = Verdict(HTTPStatus.NOT_FOUND, f"{node} is installed by its kickstart, not from its image")
        if refused:
            return refused
        return path if path.is_file() else Verdict(HTTPStatus.NOT_FOUND, f"no {missing} for {node}")

    def bundle(self, node: str, client: str, token: str | None) -> Path | Verdict:
        return self._hand_out(node, client, token, self._secret(f"{node}.tar"), "install bundle: ./kb render")

    def script(self, node: str, client: str, token: str | None) -> Path | Verdict:
        """The node's install script, for its image's initramfs (render.netinstall)."""
        return self._hand_out(node, client, token, self._secret(f"{node}.py"), "install script: ./kb render",
                              image_install=True)

    def image(self, node: str, client: str, token: str | None) -> Path | Verdict:
        """The tar of the node's image, for its initramfs to install (render.netinstall)."""
        tar = self.out_root / self.site / "images" / f"{self.images.get(node, '')}.tar"
        return self._hand_out(node, client, token, tar, "built image tar: ./kb build --type tar", image_install=True)

    def image_file(self, image: str, client: str) -> Verdict | None:
        """None when `client` is a node that boots `image`: a built image carries the baked node
        bundles (keys), so nobody else gets it."""
        allowed = {ip_address(a).exploded for node, name in self.images.items() if name == image
                   for a in self.addresses[node]}
        try:
            seen = ip_address(client).exploded
        except ValueError:
            return Verdict(HTTPStatus.BAD_REQUEST, f"{client!r} is not an IP address")
        if seen not in allowed:
            return Verdict(HTTPStatus.FORBIDDEN, f"image {image} is only for the nodes that boot it")
        return None

    def report(self, node: str, client: str, token: str | None, package_db: str, body: bytes) -> Verdict:
        with self._lock:
            refused = self.authorise(node, client, token)
            if refused:
                return refused
            if package_db not in ("rpm", "dpkg"):
                return Verdict(HTTPStatus.BAD_REQUEST, f"X-Kickbake-Package-Db must be rpm or dpkg, not {package_db!r}")
            try:
                return Verdict(HTTPStatus.CREATED, self.record(node, package_db, body))
            except RecordExists as error:
                return Verdict(HTTPStatus.CONFLICT, error.message)
            except KickbakeError as error:  # a report that cannot be read: said to the node
                return Verdict(HTTPStatus.BAD_REQUEST, error.message)
