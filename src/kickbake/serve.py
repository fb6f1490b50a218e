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
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote, urlsplit

from kickbake.errors import BadInput
from kickbake.model import load_site
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


class SiteFiles:
    """Maps URL paths to files of one site's published directories, refusing everything else."""

    def __init__(self, out_root: Path, site: str) -> None:
        self.out_root, self.site = out_root, site

    def resolve(self, url_path: str) -> Path | None:
        path = unquote(urlsplit(url_path).path)
        if "\0" in path or "\\" in path:
            return None
        parts = [p for p in posixpath.normpath(path).split("/") if p]
        if len(parts) < 3 or parts[0] != self.site or parts[1] not in PUBLISHED_DIRS or ".." in parts:
            return None
        base = (self.out_root / self.site / parts[1]).resolve()
        target = (base / "/".join(parts[2:])).resolve()
        if not target.is_relative_to(base) or not target.is_file():
            return None  # a symlink out of the published directory counts as outside
        return target


class LabHandler(BaseHTTPRequestHandler):
    server_version = "kickbake-serve"
    files: SiteFiles
    log_stream: TextIO

    def do_HEAD(self) -> None:  # noqa: N802 (http.server's name)
        self._send(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._send(body=True)

    def _send(self, body: bool) -> None:
        target = self.files.resolve(self.path)
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

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
        self.log_stream.write(f"{self.address_string()} {format % args}\n")
        self.log_stream.flush()


class LabServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # 50 clients connecting at once must not hit a full backlog


def make_server(out_root: Path, site: str, address: str = "127.0.0.1", port: int = 8080,
                log_stream: TextIO | None = None) -> LabServer:
    if not (out_root / site).is_dir():
        raise BadInput(f"nothing to serve: {out_root / site} does not exist", hint="run ./kb render first")
    handler = type("SiteHandler", (LabHandler,), {"files": SiteFiles(out_root, site),
                                                  "log_stream": log_stream or sys.stderr})
    return LabServer((address, port), handler)


def serve(site_path: str | Path, out_root: Path, address: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the site of inventory `site_path` until interrupted."""
    site = load_site(site_path).site.site
    server = make_server(out_root, site, address, port)
    print(f"kickbake serve: http://{address}:{server.server_port}/{site}/ ({', '.join(PUBLISHED_DIRS)}); Ctrl-C stops",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
