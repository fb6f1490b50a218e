"""`./kb serve`: real HTTP over TCP on 127.0.0.1. GET/HEAD/Range (206, 416), refusals (traversal,
symlink escapes, unpublished directories), a re-render swapping the generation under a running
server, and a bounded load of 1,000 requests from 50 clients against a real `kickbake serve` process."""

from __future__ import annotations

import http.client
import importlib.util
import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kickbake.commands import render_site
from kickbake.serve import make_server, parse_range
from tests.conftest import ROOT, SITES

SITE = "lab-el9"
IMAGE_SIZE = 8 << 20


def load_bench():
    spec = importlib.util.spec_from_file_location("serve_load", ROOT / "bench" / "serve_load.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["serve_load"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def out_root(tmp_path: Path) -> Path:
    root = tmp_path / "output"
    render_site(SITES / f"{SITE}.yml", root)
    images = root / SITE / "images"
    images.mkdir()
    (images / "storage-node.tar").write_bytes(os.urandom(IMAGE_SIZE))
    return root


@pytest.fixture
def server(out_root: Path) -> Iterator[tuple[int, io.StringIO]]:
    log = io.StringIO()
    httpd = make_server(out_root, SITE, "127.0.0.1", 0, log_stream=log)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_port, log
    httpd.shutdown()
    httpd.server_close()


def fetch(port: int, path: str, method: str = "GET", headers: dict[str, str] | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response, body


def test_get_and_head_serve_the_kickstart(server, out_root: Path) -> None:
    port, log = server
    expected = (out_root / SITE / "kickstarts/drbd-node1.ks").read_bytes()
    response, body = fetch(port, f"/{SITE}/kickstarts/drbd-node1.ks")
    assert response.status == 200 and body == expected
    assert response.getheader("Content-Type").startswith("text/plain")
    response, body = fetch(port, f"/{SITE}/kickstarts/drbd-node1.ks", "HEAD")
    assert response.status == 200 and body == b"" and int(response.getheader("Content-Length")) == len(expected)
    assert log.getvalue().count("/kickstarts/drbd-node1.ks") == 2  # one log line per request


def test_range_requests(server, out_root: Path) -> None:
    port, _ = server
    image = (out_root / SITE / "images/storage-node.tar").read_bytes()
    path = f"/{SITE}/images/storage-node.tar"
    response, body = fetch(port, path, headers={"Range": "bytes=1000-5095"})
    assert response.status == 206 and body == image[1000:5096]
    assert response.getheader("Content-Range") == f"bytes 1000-5095/{IMAGE_SIZE}"
    response, body = fetch(port, path, headers={"Range": "bytes=-100"})
    assert response.status == 206 and body == image[-100:]
    response, body = fetch(port, path, headers={"Range": f"bytes={IMAGE_SIZE - 10}-"})
    assert response.status == 206 and body == image[-10:]
    response, body = fetch(port, path, headers={"Range": f"bytes={IMAGE_SIZE}-"})
    assert response.status == 416 and response.getheader("Content-Range") == f"bytes */{IMAGE_SIZE}"
    response, body = fetch(port, path)
    assert response.status == 200 and body == image


@pytest.mark.parametrize(("header", "expected"), [
    (None, None), ("bytes=0-0", (0, 0)), ("bytes=5-", (5, 9)), ("bytes=-3", (7, 9)), ("bytes=8-100", (8, 9)),
    ("bytes=10-", "unsatisfiable"), ("bytes=-0", "unsatisfiable"), ("bytes=0-1,4-5", None), ("bytes=5-2", None),
    ("items=0-1", None),
])
def test_parse_range(header: str | None, expected: object) -> None:
    assert parse_range(header, 10) == expected


def test_refuses_everything_outside_the_published_directories(server, out_root: Path) -> None:
    port, _ = server
    generation = (out_root / SITE).resolve()
    (generation / "secrets").mkdir(exist_ok=True)  # the renderer already made it
    (generation / "secrets/corosync.authkey").write_text("secret")
    (generation / "kickstarts/escape.ks").symlink_to("/etc/passwd")
    (generation / "kickstarts/up.ks").symlink_to("../inputs.json")
    refused = [
        f"/{SITE}/secrets/corosync.authkey", f"/{SITE}/inputs.json", f"/{SITE}/kickstarts/escape.ks",
        f"/{SITE}/kickstarts/up.ks", f"/{SITE}/kickstarts/../inputs.json", f"/{SITE}/kickstarts/%2e%2e/inputs.json",
        f"/{SITE}/kickstarts/..%2f..%2f..%2fetc/passwd", "/etc/passwd", f"/{SITE}/kickstarts/",
        "/lab-debian/kickstarts/x.ks",
    ]
    for path in refused:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.putrequest("GET", path, skip_accept_encoding=True)  # sent as is, not normalised
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status == 404, path
        assert b"root:" not in body and b"secret" not in body


def test_a_rerender_swaps_the_generation_under_a_running_server(server, out_root: Path) -> None:
    port, _ = server
    before = (out_root / SITE).resolve()
    snapshot = out_root / SITE / "repos" / "el9-baseos" / "repodata"  # what ./kb mirror writes
    snapshot.mkdir(parents=True)
    (snapshot / "repomd.xml").write_text("<repomd/>\n")
    render_site(SITES / f"{SITE}.yml", out_root)
    assert (out_root / SITE).resolve() != before and not before.exists()
    response, body = fetch(port, f"/{SITE}/kickstarts/controller.ks")
    assert response.status == 200 and body == (out_root / SITE / "kickstarts/controller.ks").read_bytes()
    response, _ = fetch(port, f"/{SITE}/images/storage-node.tar", "HEAD")  # carried over
    assert response.status == 200
    response, body = fetch(port, f"/{SITE}/repos/el9-baseos/repodata/repomd.xml")  # the mirror too
    assert response.status == 200 and body == b"<repomd/>\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_load_1000_requests_from_50_clients_on_kb_serve(out_root: Path, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "KICKBAKE_OUTPUT": str(out_root), "KICKBAKE_ROOT": str(ROOT)}
    kickbake = Path(sys.executable).with_name("kickbake")
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([str(kickbake), "serve", "--site", str(SITES / f"{SITE}.yml"), "--port", str(port)],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        bench = load_bench()
        # kickstarts are their node's own (served to its addresses only): small PXE files instead
        small = [f"/{SITE}/pxe/pxelinux.cfg/default", f"/{SITE}/pxe/ipxe/boot.ipxe", f"/{SITE}/pxe/dnsmasq.conf"]
        # ranged reads of a big published file: a mirrored package (a built image goes only to
        # the nodes that boot it, never to 127.0.0.1)
        big = out_root / SITE / "repos" / "el9-baseos" / "Packages" / "big.rpm"
        big.parent.mkdir(parents=True)
        big.write_bytes(os.urandom(IMAGE_SIZE))
        plan = bench.request_plan(small, f"/{SITE}/repos/el9-baseos/Packages/big.rpm", IMAGE_SIZE, 1000)
        result = bench.run_load(f"http://127.0.0.1:{port}", plan, 50)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
    print(f"\nkb serve: {result.requests} requests from 50 clients in {result.seconds:.2f} s "
          f"({result.per_second:.0f} requests/s)")
    assert result.failures == []
    served = (tmp_path / "serve.log").read_text().splitlines()
    assert sum(1 for line in served if '" 200 ' in line or '" 206 ' in line) == 1000


def test_a_held_open_partial_request_is_closed_and_others_are_still_served(out_root: Path) -> None:
    """A client that sends half a request and waits neither blocks the others nor holds its
    connection past the server's timeout; the request line it sends lands escaped in the log."""
    log = io.StringIO()
    httpd = make_server(out_root, SITE, "127.0.0.1", 0, log_stream=log, timeout=2.0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_port
    try:
        slow = socket.create_connection(("127.0.0.1", port), timeout=10)
        slow.sendall(b"GET /lab-el9/pxe/pxelinux.cfg/def")  # no end of line, no end of headers
        start = time.monotonic()
        for _ in range(5):  # served while the slow one waits
            response, body = fetch(port, f"/{SITE}/pxe/pxelinux.cfg/default")
            assert response.status == 200 and body
        assert slow.recv(1024) == b""  # the server closed it (a timeout, not a reply)
        held = time.monotonic() - start
        slow.close()
        assert 1.5 < held < 9, held
        forged = socket.create_connection(("127.0.0.1", port), timeout=10)
        forged.sendall(b"GET /x\x1b[2J\rFAKE HTTP/1.0\r\n\r\n")
        forged.recv(1024)
        forged.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    lines = log.getvalue().splitlines()
    assert all("\x1b" not in line and "\r" not in line for line in lines)
    assert any("\\x1b[2J\\rFAKE" in line for line in lines), lines
