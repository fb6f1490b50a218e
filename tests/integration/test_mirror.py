"""Downloads and `mirror` against a real HTTP server on 127.0.0.1 serving the rpmbuild fixture repo:
retries on 503, resume with Range, checksum verification, createrepo_c metadata that dnf and the
lock accept again."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kickbake.errors import BadInput, KickbakeError
from kickbake.hashing import file_digest
from kickbake.model.catalog import Repo
from kickbake.record.lock import ImageRequest, lock_images, pinned_packages
from kickbake.record.mirror import fetch, http_session, mirror_packages, write_deb_index
from tests.conftest import ROOT, require_tool
from tests.integration.rpmfixture import FakePackage, build_repo

pytestmark = pytest.mark.realtool


class RangeHandler(SimpleHTTPRequestHandler):
    """http.server plus `Range: bytes=N-` and scripted failures (path -> 503s left)."""

    failures: dict[str, int] = {}
    log: list[tuple[str, str]] = []

    def do_GET(self) -> None:
        self.log.append((self.path, self.headers.get("Range", "")))
        if self.failures.get(self.path, 0) > 0:
            self.failures[self.path] -= 1
            self.send_error(503, "try again")
            return
        spec = self.headers.get("Range", "")
        path = Path(self.translate_path(self.path))
        if not spec.startswith("bytes=") or not path.is_file():
            super().do_GET()
            return
        data = path.read_bytes()
        start = int(spec[len("bytes="):].rstrip("-"))
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    for tool in ("rpmbuild", "createrepo_c"):
        require_tool(tool)
    base = tmp_path_factory.mktemp("mirror")
    repo = build_repo(base, [FakePackage("kb-lib", "1.0", "MIT"), FakePackage("kb-tool", "2.1", "GPLv2+", ("kb-lib",)),
                             FakePackage("kb-other", "1.0", "MIT")])
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(repo)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    request = ImageRequest("node", "fedora-43", "rpm", (Repo(name="fixture", kind="rpm", baseurl=url),), ("kb-tool",))
    lock = lock_images("mirror", [request], base / "cache")
    yield {"url": url, "repo": repo, "lock": lock, "base": base}
    server.shutdown()


def test_lock_over_http_then_mirror_only_what_the_lock_needs(served: dict, tmp_path: Path) -> None:
    packages = served["lock"]["images"]["node"]["packages"]
    assert [p["name"] for p in packages] == ["kb-lib", "kb-tool"]
    out = tmp_path / "mirror"
    assert mirror_packages(packages, {"fixture": served["url"]}, out) == {"fixture": 2}
    assert sorted(p.name for p in out.rglob("*.rpm")) == ["kb-lib-1.0-1.noarch.rpm", "kb-tool-2.1-1.noarch.rpm"]
    # the rewritten metadata resolves to the same pinned packages, offline
    again = lock_images("mirror", [ImageRequest("node", "fedora-43", "rpm", (
        Repo(name="fixture", kind="rpm", baseurl=f"file://{out / 'fixture'}"),), ("kb-tool",))], tmp_path / "cache")
    assert again["images"]["node"]["packages"] == packages
    # a later lock needs less: the snapshot drops what it no longer pins, metadata included
    assert mirror_packages(packages[:1], {"fixture": served["url"]}, out) == {"fixture": 1}
    assert sorted(p.name for p in out.rglob("*.rpm")) == ["kb-lib-1.0-1.noarch.rpm"]
    with pytest.raises(BadInput, match="kb-tool"):
        lock_images("mirror", [ImageRequest("node", "fedora-43", "rpm", (
            Repo(name="fixture", kind="rpm", baseurl=f"file://{out / 'fixture'}"),), ("kb-tool",))], tmp_path / "c2")


def test_resume_continues_a_partial_download(served: dict, tmp_path: Path) -> None:
    rpm = next(served["repo"].rglob("kb-lib-*.rpm"))
    location = str(rpm.relative_to(served["repo"]))
    dest = tmp_path / "kb-lib.rpm"
    dest.with_name(dest.name + ".part").write_bytes(rpm.read_bytes()[:1000])
    RangeHandler.log.clear()
    fetch(served["url"] + location, dest, "sha256:" + file_digest(rpm, "sha256"))
    assert dest.read_bytes() == rpm.read_bytes()
    assert RangeHandler.log == [("/" + location, "bytes=1000-")]


def test_retries_after_503(served: dict, tmp_path: Path) -> None:
    rpm = next(served["repo"].rglob("kb-tool-*.rpm"))
    location = str(rpm.relative_to(served["repo"]))
    RangeHandler.failures["/" + location] = 2
    RangeHandler.log.clear()
    fetch(served["url"] + location, tmp_path / "t.rpm", session=http_session(retries=3, backoff=0))
    assert (tmp_path / "t.rpm").read_bytes() == rpm.read_bytes()
    assert len(RangeHandler.log) == 3


def test_checksum_mismatch_is_refused(served: dict, tmp_path: Path) -> None:
    rpm = next(served["repo"].rglob("kb-other-*.rpm"))
    with pytest.raises(KickbakeError, match="the lock says 0000"):
        fetch(served["url"] + str(rpm.relative_to(served["repo"])), tmp_path / "o.rpm", "sha256:" + "0" * 64)
    assert not (tmp_path / "o.rpm").exists()


def _build_deb(pool: Path, name: str, version: str, depends: str = "", priority: str = "optional") -> None:
    tree = pool.parent / "build" / name
    (tree / "DEBIAN").mkdir(parents=True)
    control = f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: kickbake <kb@example.invalid>\n"
    control += f"Priority: {priority}\n"
    control += f"Depends: {depends}\n" if depends else ""
    (tree / "DEBIAN" / "control").write_text(control + f"Description: kickbake test package {name}\n")
    target = pool / name[0] / name
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(tree), str(target / f"{name}_{version}_all.deb")],
                   check=True, capture_output=True)


def test_debian_lock_and_mirror_with_dpkg_scanpackages(tmp_path: Path) -> None:
    for tool in ("dpkg-deb", "dpkg-scanpackages"):
        require_tool(tool)
    upstream = tmp_path / "upstream"
    for name, depends in (("kb-a", ""), ("kb-b", "kb-a (>= 1.0)"), ("kb-c", "")):
        _build_deb(upstream / "pool" / "main", name, "1.0-1", depends)
    index = "dists/bookworm/main/binary-amd64"
    write_deb_index(upstream, index)
    repo = Repo(name="deb-fixture", kind="deb", baseurl=f"file://{upstream}", suite="bookworm", components=("main",),
                gpgcheck=False)
    lock = lock_images("deb", [ImageRequest("node", "debian-12", "deb", (repo,), ("kb-b",))], tmp_path / "cache")
    packages = lock["images"]["node"]["packages"]
    assert [(p["name"], p["version"], p["release"]) for p in packages] == [("kb-a", "1.0", "1"), ("kb-b", "1.0", "1")]
    assert packages[0]["location"] == "pool/main/k/kb-a/kb-a_1.0-1_all.deb"
    assert pinned_packages(lock, "node") == ["kb-a=1.0-1", "kb-b=1.0-1"]
    out = tmp_path / "mirror"
    mirror_packages(packages, {"deb-fixture": f"file://{upstream}"}, out, {"deb-fixture": index})
    assert sorted(p.name for p in out.rglob("*.deb")) == ["kb-a_1.0-1_all.deb", "kb-b_1.0-1_all.deb"]
    offline = Repo(name="deb-fixture", kind="deb", baseurl=f"file://{out / 'deb-fixture'}", suite="bookworm",
                   components=("main",), gpgcheck=False)
    again = lock_images("deb", [ImageRequest("node", "debian-12", "deb", (offline,), ("kb-b",))], tmp_path / "c2")
    assert again["images"]["node"]["packages"] == packages


def _apt(scratch: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """apt-get with its state, cache and sources in `scratch`: the host's apt is not touched."""
    options = [f"Dir::State={scratch / 'state'}", f"Dir::State::status={scratch / 'status'}",
               f"Dir::Cache={scratch / 'cache'}", f"Dir::Etc::SourceList={scratch / 'sources.list'}",
               "Dir::Etc::SourceParts=/dev/null", "APT::Architecture=amd64", "Debug::NoLocking=1",
               "APT::Sandbox::User=root"]
    argv = ["apt-get", "-q"] + [f"-o{o}" for o in options] + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_debian_snapshot_pins_the_bootstrap_and_is_signed_for_apt(tmp_path: Path) -> None:
    """The lock pins debootstrap's Priority: required set and the builder base with the site's
    packages; ./kb mirror flattens the release's suites into one signed repo that real apt
    accepts (signature and index hashes), holding exactly the locked packages."""
    for tool in ("dpkg-deb", "dpkg-scanpackages", "gpg", "gpgv", "apt-get"):
        require_tool(tool)
    from kickbake.record.site import mirror_site, mirrored_repo

    upstream = tmp_path / "upstream"
    for name, depends, priority in (("kb-a", "", "optional"), ("kb-b", "kb-a (>= 1.0)", "optional"),
                                    ("kb-base", "", "required"), ("kb-tool", "", "optional"),
                                    ("kb-unused", "", "optional")):
        _build_deb(upstream / "pool" / "main", name, "1.0-1", depends, priority)
    write_deb_index(upstream, "dists/bookworm/main/binary-amd64")
    repo = Repo(name="deb-fixture", kind="deb", baseurl=f"file://{upstream}", suite="bookworm", components=("main",),
                gpgcheck=False)
    request = ImageRequest("storage-node", "debian-12", "deb", (repo,), ("kb-b",), base=("kb-tool",),
                           bootstrap="minbase")
    lock = lock_images("lab-debian", [request], tmp_path / "cache")
    entry = lock["images"]["storage-node"]
    assert [p["name"] for p in entry["packages"]] == ["kb-a", "kb-b", "kb-base", "kb-tool"]
    assert entry["requested"] == ["kb-b"] and entry["base"] == ["kb-tool"] and entry["bootstrap"] == "minbase"

    repos_dir, out_root = tmp_path / "repos", tmp_path / "out"
    repos_dir.mkdir()
    (out_root / "lab-debian").mkdir(parents=True)
    (repos_dir / "lab-debian.lock").write_text(json.dumps(lock))
    result = mirror_site(ROOT / "sites" / "lab-debian.yml", out_root, repos_dir)
    snapshot = out_root / "lab-debian" / "repos"
    assert result.repos == {"debian-12": 4}
    assert sorted(p.name for p in snapshot.rglob("*.deb")) == [
        "kb-a_1.0-1_all.deb", "kb-b_1.0-1_all.deb", "kb-base_1.0-1_all.deb", "kb-tool_1.0-1_all.deb"]
    secret = out_root / "lab-debian" / "secrets" / "mirror-signing-key.asc"  # not under the served repos/
    assert secret.stat().st_mode & 0o777 == 0o600 and "PRIVATE KEY" in secret.read_text()
    served = [p for p in snapshot.rglob("*") if p.is_file()]
    assert served and not [p for p in served if "PRIVATE KEY" in p.read_text(errors="replace")]
    assert mirrored_repo(lock, "storage-node", snapshot) == ("debian-12", "bookworm", snapshot / "kickbake-mirror.gpg")
    in_release = snapshot / "debian-12" / "dists" / "bookworm" / "InRelease"
    verified = subprocess.run(["gpgv", "--keyring", result.keyring, str(in_release)], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr

    scratch = tmp_path / "apt"
    for directory in ("state/lists/partial", "cache/archives/partial"):
        (scratch / directory).mkdir(parents=True)
    (scratch / "status").write_text("")
    (scratch / "sources.list").write_text(
        f"deb [signed-by={result.keyring}] file://{snapshot / 'debian-12'} bookworm main\n")
    updated = _apt(scratch, "update")
    assert updated.returncode == 0 and "W:" not in updated.stdout + updated.stderr, updated.stdout + updated.stderr
    fetched = _apt(scratch, "-s", "install", "kb-b", "kb-base")
    assert fetched.returncode == 0, fetched.stderr
    assert "Inst kb-a (1.0-1 " in fetched.stdout and "Inst kb-b (1.0-1 " in fetched.stdout

    # a tampered index no longer matches the signed Release: apt refuses the repo
    index = snapshot / "debian-12/dists/bookworm/main/binary-amd64/Packages"
    index.write_text(index.read_text().replace("kb-tool", "kb-evil"))
    (snapshot / "debian-12/dists/bookworm/main/binary-amd64/Packages.xz").unlink()
    shutil.rmtree(scratch / "state" / "lists")
    (scratch / "state/lists/partial").mkdir(parents=True)
    tampered = _apt(scratch, "update")
    assert tampered.returncode != 0 and "Hash Sum mismatch" in tampered.stdout + tampered.stderr

    # a snapshot that lost a locked package is refused before any build starts
    next(snapshot.rglob("kb-base_1.0-1_all.deb")).unlink()
    with pytest.raises(KickbakeError, match=r"lacks 1 locked packages \(first: pool/main/k/kb-base/"):
        mirrored_repo(lock, "storage-node", snapshot)
