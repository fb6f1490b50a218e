"""`./kb serve`: a lab HTTP server for one site's kickstarts, images, repo mirror and PXE tree.

It serves the same URLs as the generated nginx config (/<site>/<published dir>/...), with HEAD
and single Range requests (206, 416), one log line per request, and nothing outside the published
directories: a path is resolved (symlinks included) and must stay below the real directory it
names. output/<site> is itself a symlink to the current generation and is resolved per request,
so a re-render never serves a half-written tree. For production installs at scale, use the
generated nginx config (output/<site>/pxe/nginx-site.conf)."""

from __future__ import annotations

import mimetypes
import posixpath
import re
import sys
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote, urlsplit

from kickbake.errors import BadInput
from kickbake.install_gate import MAX_REPORT_BYTES, TOKEN_HEADER, InstallGate, Verdict
from kickbake.model import load_site
from kickbake.render.install import INSTALL_DIR
from kickbake.render.liveimg import SUFFIX as LIVEIMG_SUFFIX
from kickbake.render.netinstall import IMAGE_SUFFIX as NETINSTALL_IMAGE
from kickbake.render.netinstall import SCRIPT_SUFFIX as NETINSTALL_SCRIPT
from kickbake.render.netinstall import SUFFIX as NETINSTALL_SUFFIX
from kickbake.render.pxe_view import PUBLISHED_DIRS

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
TEXT_SUFFIXES = {".ks", ".ipxe", ".cfg", ".conf", ".json"}


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """(first, last) of a single byte range; None for no/unsupported range (send all);
    "unsatisfiable" when it lies outside the file."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or not (match[1] or match[2]):
        return None  # multiple ranges or nonsense: RFC 9110 lets a server send the whole file
    if match[1]:
        first = int(match[1])
        last = min(int(match[2]), size - 1) if match[2] else size - 1
        if match[2] and int(match[2]) < first:
            return None
    else:
        first, last = max(size - int(match[2]), 0), size - 1
        if int(match[2]) == 0:
            return "unsatisfiable"
    return "unsatisfiable" if first >= size else (first, last)


def url_parts(url_path: str) -> list[str] | None:
    """The path's components, or None for anything that could name another place."""
    path = unquote(urlsplit(url_path).path)
    if "\0" in path or "\\" in path:
        return None
    parts = [p for p in posixpath.normpath(path).split("/") if p]
    return None if ".." in parts else parts


def kickstart_node(name: str) -> str | None:
    """drbd-node1.ks / drbd-node1-liveimg.ks / drbd-node1.install -> drbd-node1 (the node that
    may fetch it); None for a name that is none of these."""
    if name.endswith(NETINSTALL_SUFFIX):
        return name.removesuffix(NETINSTALL_SUFFIX)
    if name.endswith(".ks"):
        return name.removesuffix(".ks").removesuffix(LIVEIMG_SUFFIX)
    return None


IMAGE_FILE_SUFFIXES = {".qcow2", ".raw", ".tar"}  # built images: they carry the baked bundles


class SiteFiles:
    """Maps URL paths to files of one site's published directories, refusing everything else."""

    def __init__(self, out_root: Path, site: str) -> None:
        self.out_root, self.site = out_root, site

    def resolve(self, url_path: str) -> Path | None:
        parts = url_parts(url_path)
        if parts is None or len(parts) < 3 or parts[0] != self.site or parts[1] not in PUBLISHED_DIRS:
            return None
        base = (self.out_root / self.site / parts[1]).resolve()
        target = (base / "/".join(parts[2:])).resolve()
        if not target.is_relative_to(base) or not target.is_file():
            return None  # a symlink out of the published directory counts as outside
        return target


def printable(text: str) -> str:
    """Printable ASCII as is; a backslash, control characters and anything else as escapes."""
    return "".join(c if " " <= c <= "~" and c != "\\" else c.encode("unicode_escape").decode() for c in text)


REQUEST_TIMEOUT = 30.0  # seconds a connection may sit idle or half-sent before it is closed


class LabHandler(BaseHTTPRequestHandler):
    server_version = "kickbake-serve"
    timeout = REQUEST_TIMEOUT  # StreamRequestHandler: every read and write on the socket
    files: SiteFiles
    gate: InstallGate | None
    behind_proxy: bool
    log_stream: TextIO

    def do_HEAD(self) -> None:
        self._send(body=False)

    def do_GET(self) -> None:
        self._send(body=True)

    def do_PUT(self) -> None:
        parts = url_parts(self.path)
        if self.gate is None or not parts or len(parts) != 3 or parts[:2] != [self.files.site, "report"]:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) > MAX_REPORT_BYTES:
            status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length.isdigit() else HTTPStatus.LENGTH_REQUIRED
            self._reply(Verdict(status, f"a report needs a Content-Length of at most {MAX_REPORT_BYTES} bytes"))
            return
        body = self.rfile.read(int(length))
        self._reply(self.gate.report(parts[2], self._client(), self.headers.get(TOKEN_HEADER),
                                     self.headers.get("X-Kickbake-Package-Db", ""), body))

    def _client(self) -> str:
        """The requesting node's address; behind nginx (on loopback) the one nginx saw."""
        client = self.client_address[0]
        forwarded = self.headers.get("X-Real-IP")
        if self.behind_proxy and forwarded and ip_address(client).is_loopback:
            return forwarded.strip()
        return client

    def _reply(self, verdict: Verdict) -> None:
        data = (verdict.message + "\n").encode()
        self.send_response(verdict.status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _guarded(self) -> Path | Verdict | None:
        """Install bundles (token + address) and kickstarts (address): the node's own only."""
        parts = url_parts(self.path)
        if self.gate is None or not parts or len(parts) != 3 or parts[0] != self.files.site:
            return None
        client, token = self._client(), self.headers.get(TOKEN_HEADER)
        if parts[1] == INSTALL_DIR:
            for suffix, hand_out in ((".tar", self.gate.bundle), (NETINSTALL_SCRIPT, self.gate.script),
                                     (NETINSTALL_IMAGE, self.gate.image)):
                if parts[2].endswith(suffix):
                    return hand_out(parts[2].removesuffix(suffix), client, token)
            return Verdict(HTTPStatus.NOT_FOUND, f"no such install file {parts[2]!r}")
        node = kickstart_node(parts[2]) if parts[1] == "kickstarts" else None
        if node is not None:
            refused = self.gate.from_node(node, client)
            if refused is not None and refused.status != HTTPStatus.NOT_FOUND:
                return refused
        suffix = Path(parts[2]).suffix
        if parts[1] == "images" and suffix in IMAGE_FILE_SUFFIXES:
            return self.gate.image_file(parts[2].removesuffix(suffix), client)
        return None

    def _send(self, body: bool) -> None:
        guarded = self._guarded()
        if isinstance(guarded, Verdict):
            self._reply(guarded)
            return
        target = guarded or self.files.resolve(self.path)
        if target is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        with target.open("rb") as handle:
            size = target.stat().st_size
            wanted = parse_range(self.headers.get("Range"), size)
            if wanted == "unsatisfiable":
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            first, last = wanted if isinstance(wanted, tuple) else (0, size - 1)
            partial = isinstance(wanted, tuple)
            self.send_response(HTTPStatus.PARTIAL_CONTENT if partial else HTTPStatus.OK)
            self.send_header("Content-Type", self._content_type(target))
            self.send_header("Content-Length", str(last - first + 1))
            self.send_header("Accept-Ranges", "bytes")
            if partial:
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.end_headers()
            if body and last >= first:
                self.wfile.flush()
                self.connection.sendfile(handle, first, last - first + 1)

    @staticmethod
    def _content_type(path: Path) -> str:
        if path.suffix in TEXT_SUFFIXES:
            return "text/plain; charset=utf-8"
        return mimetypes.guess_type(path.name)[0] or "application/octet-stream"

    def log_message(self, format: str, *args: object) -> None:
        # the request line is the client's bytes: escaped, so a request cannot forge log lines
        self.log_stream.write(f"{self.address_string()} {printable(format % args)}\n")
        self.log_stream.flush()


class LabServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # 50 clients connecting at once must not hit a full backlog


def make_server(out_root: Path, site: str, address: str = "127.0.0.1", port: int = 8080,
                log_stream: TextIO | None = None, site_path: str | Path | None = None,
                behind_proxy: bool = False, timeout: float = REQUEST_TIMEOUT) -> LabServer:
    """A server for the site's published files; with `site_path` also its install bundles,
    node-restricted kickstarts and install reports."""
    if not (out_root / site).is_dir():
        raise BadInput(f"nothing to serve: {out_root / site} does not exist", hint="run ./kb render first")
    gate = None
    if site_path is not None:
        # here, not at the top: the build serves its mirror through this module, and the
        # pipeline (which the reports re-render with) imports the build
        from kickbake.installs import accept_report
        from kickbake.siterun import open_site

        site_plan = open_site(site_path, out_root).plan
        gate = InstallGate(out_root, site_plan, partial(accept_report, site_path, out_root))
    handler = type("SiteHandler", (LabHandler,), {"files": SiteFiles(out_root, site), "gate": gate,
                                                  "behind_proxy": behind_proxy, "timeout": timeout,
                                                  "log_stream": log_stream or sys.stderr})
    return LabServer((address, port), handler)


def serve(site_path: str | Path, out_root: Path, address: str = "127.0.0.1", port: int = 8080,
          behind_proxy: bool = False) -> None:
    """Serve the site of inventory `site_path` until interrupted."""
    site = load_site(site_path).site.site
    server = make_server(out_root, site, address, port, site_path=site_path, behind_proxy=behind_proxy)
    print(f"kickbake serve: http://{address}:{server.server_port}/{site}/ ({', '.join(PUBLISHED_DIRS)}); Ctrl-C stops",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
