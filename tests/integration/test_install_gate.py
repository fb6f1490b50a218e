"""`./kb serve`'s install gate over real HTTP on 127.0.0.1: install bundles only to their node's
address with its token, kickstarts only to their node, path escapes refused, install reports
recorded once (the node then boots locally and its token is retired), bad reports refused."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import re
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from kickbake.commands import render_site
from kickbake.installs import netboot
from kickbake.serve import LabServer, make_server
from tests.conftest import SITES

SITE = "lab-el9"
SITE_PATH = SITES / f"{SITE}.yml"
ADDRESS = {"controller": "192.168.122.10", "drbd-node1": "192.168.122.11", "drbd-node2": "192.168.122.12"}
PXE_MAC = {"drbd-node1": "01-52-54-00-00-01-21", "drbd-node2": "01-52-54-00-00-01-22"}
SIGNATURE = "RSA/SHA256, Tue 01 Oct 2024 12:00:00 PM UTC, Key ID 05b555b38483c65d"
# the columns of kickbake.record.rpmdb.COLUMNS, then the signature, as `rpm -qa --qf QUERY_FORMAT` prints them
REPORT = "".join(f"{line}\t{SIGNATURE}\n" for line in (
    "bash\t(none)\t5.1.8\t9.el9\tx86_64\tGPL-3.0-or-later\tbash-5.1.8-9.el9.src.rpm\t0123456789abcdef0123456789abcdef",
    "openssh-server\t(none)\t8.7p1\t43.el9\tx86_64\tBSD-3-Clause AND ISC\topenssh-8.7p1-43.el9.src.rpm\t"
    "fedcba9876543210fedcba9876543210",
)).encode()

Reply = tuple[int, bytes]


def request(port: int, method: str, path: str, client: str | None = None, token: str | None = None,
            body: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
    fields = dict(headers or {})
    if client is not None:
        fields["X-Real-IP"] = client
    if token is not None:
        fields["X-Kickbake-Token"] = token
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=fields)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@dataclass
class Server:
    """A running server; calling it makes a request (X-Real-IP names the node asking)."""

    httpd: LabServer
    log: io.StringIO

    def __call__(self, method: str, path: str, client: str | None = None, token: str | None = None,
                 body: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
        return request(self.httpd.server_port, method, path, client, token, body, headers)


@contextmanager
def serving(out_root: Path, behind_proxy: bool, site_path: Path = SITE_PATH) -> Iterator[Server]:
    log = io.StringIO()
    httpd = make_server(out_root, site_path.stem, "127.0.0.1", 0, log_stream=log, site_path=site_path,
                        behind_proxy=behind_proxy)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Server(httpd, log)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def site_out(out_root: Path) -> Path:
    render_site(SITE_PATH, out_root)
    return out_root / SITE


@pytest.fixture
def fetch(site_out: Path) -> Iterator[Server]:
    """A server behind (as if) nginx: it takes a loopback client's X-Real-IP as the client."""
    with serving(site_out.parent, behind_proxy=True) as server:
        yield server


def token_of(site_out: Path, node: str) -> str:
    return (site_out / "secrets" / "install" / f"{node}.token").read_text().strip()


def bundle_of(site_out: Path, node: str) -> bytes:
    return (site_out / "secrets" / "install" / f"{node}.tar").read_bytes()


def report(fetch: Server, node: str, token: str | None, body: bytes = REPORT, package_db: str = "rpm") -> Reply:
    return fetch("PUT", f"/{SITE}/report/{node}", ADDRESS[node], token, body,
                 {"X-Kickbake-Package-Db": package_db, "Content-Type": "text/plain; charset=utf-8"})


def netboot_state(site_out: Path) -> dict[str, str]:
    return dict(json.loads((site_out / "state" / "netboot.json").read_text()))


def assert_refused(reply: Reply, secret: bytes, statuses: tuple[int, ...] = (403, 404)) -> None:
    status, body = reply
    assert status in statuses, (status, body)
    assert secret not in body and len(body) < 4096


def test_the_node_gets_its_bundle_with_the_sha256_of_its_kickstart(site_out: Path, fetch: Server) -> None:
    status, kickstart = fetch("GET", f"/{SITE}/kickstarts/drbd-node1.ks", ADDRESS["drbd-node1"])
    assert status == 200
    expected = re.search(rb'"bundle_sha256": "([0-9a-f]{64})"', kickstart)
    assert expected is not None
    token = token_of(site_out, "drbd-node1")
    status, body = fetch("GET", f"/{SITE}/install/drbd-node1.tar", ADDRESS["drbd-node1"], token)
    assert status == 200 and body == bundle_of(site_out, "drbd-node1")
    assert hashlib.sha256(body).hexdigest().encode() == expected[1]
    # its other address (the replication link) is the node too
    status, body = fetch("GET", f"/{SITE}/install/drbd-node1.tar", "10.0.0.1", token)
    assert status == 200 and body == bundle_of(site_out, "drbd-node1")


def test_a_bundle_is_refused_without_the_nodes_own_token_and_address(site_out: Path, fetch: Server) -> None:
    tar, url = bundle_of(site_out, "drbd-node1"), f"/{SITE}/install/drbd-node1.tar"
    own, other = token_of(site_out, "drbd-node1"), token_of(site_out, "drbd-node2")
    assert_refused(fetch("GET", url, ADDRESS["drbd-node1"]), tar, (403,))
    assert_refused(fetch("GET", url, ADDRESS["drbd-node1"], ""), tar, (403,))
    assert_refused(fetch("GET", url, ADDRESS["drbd-node1"], other), tar, (403,))
    assert_refused(fetch("GET", url, ADDRESS["drbd-node1"], own[:-1]), tar, (403,))
    assert_refused(fetch("GET", url, ADDRESS["drbd-node2"], own), tar, (403,))
    assert_refused(fetch("HEAD", url, ADDRESS["drbd-node2"], own), tar, (403,))
    assert_refused(fetch("GET", url, "127.0.0.1", own), tar, (403,))
    status, body = fetch("GET", url, ADDRESS["drbd-node2"], own)
    assert b"192.168.122.12 is not drbd-node1" in body  # the refusal says why, for the install log
    assert_refused(fetch("GET", f"/{SITE}/install/no-such-node.tar", ADDRESS["drbd-node1"], own), tar)
    assert fetch.log.getvalue().count(url) == 8 and own not in fetch.log.getvalue()  # logged, never the token


def test_without_a_proxy_x_real_ip_counts_for_nothing(site_out: Path) -> None:
    tar, token = bundle_of(site_out, "drbd-node1"), token_of(site_out, "drbd-node1")
    url = f"/{SITE}/install/drbd-node1.tar"
    with serving(site_out.parent, behind_proxy=False) as direct:
        assert_refused(direct("GET", url, None, token), tar, (403,))
        assert_refused(direct("GET", url, ADDRESS["drbd-node1"], token), tar, (403,))
        assert direct("GET", f"/{SITE}/kickstarts/drbd-node1.ks", ADDRESS["drbd-node1"])[0] == 403
        assert direct("GET", f"/{SITE}/kickstarts/drbd-node1.ks")[0] == 403
        assert direct("GET", f"/{SITE}/pxe/ipxe/drbd-node1.ipxe")[0] == 200  # the rest is public


@pytest.mark.parametrize("path", [
    f"/{SITE}/install/../secrets/install/drbd-node1.tar",
    f"/{SITE}/install/%2e%2e/secrets/install/drbd-node1.tar",
    f"/{SITE}/install/%2E%2E%2Fsecrets%2Finstall%2Fdrbd-node1.tar",
    f"/{SITE}/kickstarts/../secrets/install/drbd-node1.tar",
    f"/{SITE}/pxe/%2e%2e/secrets/install/drbd-node1.tar",
    f"/{SITE}/secrets/install/drbd-node1.tar",
    f"/{SITE}/install/drbd-node1.token",
    f"/{SITE}/install/drbd-node1.py",
    f"/{SITE}/install/../../{SITE}/secrets/install/drbd-node1.tar",
    f"/{SITE}/install/sub/drbd-node1.tar",
])
def test_path_escapes_reach_no_secret(path: str, site_out: Path, fetch: Server) -> None:
    token = token_of(site_out, "drbd-node1")
    secrets = [bundle_of(site_out, "drbd-node1"), token.encode(),
               (site_out / "secrets" / "install" / "drbd-node1.py").read_bytes()]
    status, body = fetch("GET", path, ADDRESS["drbd-node1"], token)
    assert status in (403, 404), (status, body)
    assert not any(secret in body for secret in secrets)


def test_a_kickstart_is_served_to_its_own_node_only(site_out: Path, fetch: Server) -> None:
    kickstart = (site_out / "kickstarts" / "drbd-node1.ks").read_bytes()
    assert token_of(site_out, "drbd-node1").encode() in kickstart
    status, body = fetch("GET", f"/{SITE}/kickstarts/drbd-node1.ks", ADDRESS["drbd-node2"])
    assert status == 403 and token_of(site_out, "drbd-node1").encode() not in body
    status, body = fetch("GET", f"/{SITE}/kickstarts/drbd-node1.ks", ADDRESS["controller"])
    assert status == 403
    status, body = fetch("GET", f"/{SITE}/kickstarts/drbd-node1.ks", ADDRESS["drbd-node1"])
    assert status == 200 and body == kickstart
    status, body = fetch("GET", f"/{SITE}/kickstarts/drbd-node1.ks")  # loopback, no X-Real-IP: not the node
    assert status == 403


def test_a_report_records_the_node_switches_it_local_and_retires_the_token(site_out: Path, fetch: Server) -> None:
    token, other = token_of(site_out, "drbd-node1"), bundle_of(site_out, "drbd-node2")
    status, body = report(fetch, "drbd-node1", token)
    assert status == 201, body
    assert b"recorded drbd-node1: 2 packages" in body
    manifest = site_out / "records" / "drbd-node1.manifest.json"
    assert manifest.is_file()
    assert {"bash", "openssh-server"} <= set(re.findall(r'"name": "([^"]+)"', manifest.read_text()))
    assert netboot_state(site_out) == {"controller": "install", "drbd-node1": "local", "drbd-node2": "install"}
    pxelinux = (site_out / "pxe" / "pxelinux.cfg" / PXE_MAC["drbd-node1"]).read_text()
    assert "LOCALBOOT 0" in pxelinux and "KERNEL" not in pxelinux
    assert not (site_out / "secrets" / "install" / "drbd-node1.token").exists()
    assert (site_out / "secrets" / "install" / "drbd-node2.token").exists()
    # the token is spent: neither the bundle nor a second report
    assert_refused(fetch("GET", f"/{SITE}/install/drbd-node1.tar", ADDRESS["drbd-node1"], token),
                   bundle_of(site_out, "drbd-node1"), (403,))
    before = manifest.read_bytes()
    status, body = report(fetch, "drbd-node1", token)
    assert status == 403 and b"boot locally" in body
    assert manifest.read_bytes() == before
    # a node installing meanwhile gets the very bundle its kickstart's sha256 names
    status, body = fetch("GET", f"/{SITE}/install/drbd-node2.tar", ADDRESS["drbd-node2"],
                         token_of(site_out, "drbd-node2"))
    assert status == 200 and body == other
    assert token not in fetch.log.getvalue()


@pytest.mark.parametrize(("body", "package_db", "says"), [
    (b"this is not a package list\n", "rpm", b"report from drbd-node2:1: expected 8 tab-separated columns"),
    (b"\xff\xfe\x00bash\t(none)\n", "rpm", b"not UTF-8 at byte 0"),
    (b"", "rpm", b"no installed package in the report"),
    (REPORT, "pacman", b"X-Kickbake-Package-Db must be rpm or dpkg"),
])
def test_a_bad_report_is_refused_and_records_nothing(body: bytes, package_db: str, says: bytes, site_out: Path,
                                                      fetch: Server) -> None:
    token = token_of(site_out, "drbd-node2")
    generation = site_out.resolve()
    status, reply = report(fetch, "drbd-node2", token, body, package_db)
    assert status == 400, reply
    assert says in reply and reply.decode("utf-8").endswith("\n")
    assert not (site_out / "records" / "drbd-node2.manifest.json").exists()
    assert netboot_state(site_out)["drbd-node2"] == "install"
    assert site_out.resolve() == generation and token_of(site_out, "drbd-node2") == token
    # the node may still report properly afterwards
    status, reply = report(fetch, "drbd-node2", token)
    assert status == 201, reply


def test_a_report_of_someone_else_or_without_token_is_refused(site_out: Path, fetch: Server) -> None:
    generation = site_out.resolve()
    assert report(fetch, "drbd-node2", None)[0] == 403
    assert report(fetch, "drbd-node2", token_of(site_out, "drbd-node1"))[0] == 403
    status, _ = fetch("PUT", f"/{SITE}/report/drbd-node2", ADDRESS["drbd-node1"], token_of(site_out, "drbd-node2"),
                      REPORT, {"X-Kickbake-Package-Db": "rpm"})
    assert status == 403
    assert site_out.resolve() == generation and not (site_out / "records").exists()


def test_an_existing_record_is_never_overwritten(site_out: Path, fetch: Server) -> None:
    records = site_out / "records"
    records.mkdir()
    existing = records / "drbd-node2.manifest.json"
    existing.write_text('{"recorded": "by hand"}\n')
    status, body = report(fetch, "drbd-node2", token_of(site_out, "drbd-node2"))
    assert status == 409, body
    assert b"drbd-node2 is recorded already" in body
    assert existing.read_text() == '{"recorded": "by hand"}\n'
    assert not (records / "drbd-node2.spdx.json").exists()
    assert netboot_state(site_out)["drbd-node2"] == "install"
    assert (site_out / "secrets" / "install" / "drbd-node2.token").exists()


def test_an_unparsable_x_real_ip_is_refused_with_a_reply(site_out: Path, fetch: Server) -> None:
    status, body = fetch("GET", f"/{SITE}/kickstarts/drbd-node1.ks", "192.168.122.11, 10.0.0.9")
    assert status in (400, 403) and token_of(site_out, "drbd-node1").encode() not in body


def test_a_report_the_license_policy_refuses_leaves_no_record(tmp_path: Path) -> None:
    site_path = tmp_path / f"{SITE}.yml"
    text = SITE_PATH.read_text()
    site_path.write_text(text.replace("timezone: UTC\n", "timezone: UTC\nlicenses:\n  deny: [GPL-3.0-or-later]\n", 1))
    out_root = tmp_path / "output"
    render_site(site_path, out_root)
    site_out = out_root / SITE
    with serving(out_root, behind_proxy=True, site_path=site_path) as fetch:
        status, body = report(fetch, "drbd-node1", token_of(site_out, "drbd-node1"))
        assert status == 400 and b"licenses.deny" in body and b"bash-5.1.8-9.el9.x86_64" in body
        assert netboot_state(site_out)["drbd-node1"] == "install"
        assert not (site_out / "records" / "drbd-node1.manifest.json").exists()


DEBIAN = "lab-debian"
DEBIAN_ADDRESS = {"controller": "192.168.122.10", "drbd-node1": "192.168.122.11", "drbd-node2": "192.168.122.12"}


@pytest.fixture
def debian_out(out_root: Path) -> Path:
    """lab-debian rendered after a (stand-in) storage-node build: the image files the render
    links and hashes are small real files, the gate hands them out as they are."""
    site_path = SITES / f"{DEBIAN}.yml"
    render_site(site_path, out_root)
    images = out_root / DEBIAN / "images"
    images.mkdir()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = b"stand-in root file system\n"
        info = tarfile.TarInfo("./etc/os-release")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (images / "storage-node.tar").write_bytes(buffer.getvalue())
    for suffix in ("vmlinuz", "initrd", "qcow2"):
        (images / f"storage-node.{suffix}").write_bytes(f"stand-in {suffix}\n".encode())
    render_site(site_path, out_root)
    return out_root / DEBIAN


def descriptor_of(site_out: Path, node: str) -> dict[str, str]:
    text = (site_out / "kickstarts" / f"{node}.install").read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_a_debian_node_installs_its_image_with_its_own_descriptor_token_and_script(debian_out: Path) -> None:
    """Issue 11 item 4, the boot server's side: the PXE entry points the image's initramfs at the
    node's descriptor; the descriptor, the image tar and the install script go to that node alone
    (address, and token for the tar and script), and what they say matches what is served."""
    tar = (debian_out / "images" / "storage-node.tar").read_bytes()
    said = descriptor_of(debian_out, "drbd-node1")
    token = token_of(debian_out, "drbd-node1")
    script = (debian_out / "secrets" / "install" / "drbd-node1.py").read_bytes()
    assert said == {"node": "drbd-node1", "disk": "/dev/vda", "label": "cloudimg-rootfs",
                    "image_url": f"http://192.168.122.1/{DEBIAN}/install/drbd-node1.image",
                    "image_sha256": hashlib.sha256(tar).hexdigest(), "token": token,
                    "script_url": f"http://192.168.122.1/{DEBIAN}/install/drbd-node1.py",
                    "script_sha256": hashlib.sha256(script).hexdigest()}
    entry = (debian_out / "pxe" / "pxelinux.cfg" / "01-52-54-00-00-01-31").read_text()
    assert f"kickbake.install=http://192.168.122.1/{DEBIAN}/kickstarts/drbd-node1.install" in entry
    assert "kickbake.install=" not in (debian_out / "pxe" / "ipxe" / "controller.ipxe").read_text()  # no tar built
    with serving(debian_out.parent, behind_proxy=True, site_path=SITES / f"{DEBIAN}.yml") as fetch:
        node1, node2 = DEBIAN_ADDRESS["drbd-node1"], DEBIAN_ADDRESS["drbd-node2"]
        base = f"/{DEBIAN}"
        assert fetch("GET", f"{base}/kickstarts/drbd-node1.install", node2)[0] == 403
        assert fetch("GET", f"{base}/kickstarts/drbd-node1.install", node1)[1].decode().count(token) == 1
        for name, body in (("drbd-node1.image", tar), ("drbd-node1.py", script)):
            assert fetch("GET", f"{base}/install/{name}", node1, token) == (200, body)
            assert_refused(fetch("GET", f"{base}/install/{name}", node1), body)  # no token
            assert_refused(fetch("GET", f"{base}/install/{name}", node2, token), body)  # someone else
            assert_refused(fetch("GET", f"{base}/install/{name}", node1, token_of(debian_out, "drbd-node2")), body)
        assert_refused(fetch("GET", f"{base}/install/drbd-node1.exe", node1, token), tar)
        # the built image itself carries every baked bundle: the nodes that boot it only
        assert fetch("GET", f"{base}/images/storage-node.tar", node2) == (200, tar)
        assert_refused(fetch("GET", f"{base}/images/storage-node.tar", DEBIAN_ADDRESS["controller"]), tar)
        assert_refused(fetch("GET", f"{base}/images/storage-node.qcow2", "192.168.122.99"), b"stand-in qcow2")


def test_a_debian_node_set_local_has_no_descriptor_and_boots_its_disk(debian_out: Path) -> None:
    netboot(SITES / f"{DEBIAN}.yml", "drbd-node1", "local", debian_out.parent)
    assert not (debian_out / "kickstarts" / "drbd-node1.install").exists()
    entry = (debian_out / "pxe" / "pxelinux.cfg" / "01-52-54-00-00-01-31").read_text()
    assert "kickbake.install=" not in entry and "root=LABEL=cloudimg-rootfs" in entry, entry
    assert "kickbake.install=" in (debian_out / "pxe" / "pxelinux.cfg" / "01-52-54-00-00-01-32").read_text()
