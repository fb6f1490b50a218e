"""Downloads (requests: retries, resume, checksum verification) and `./kb mirror`: a local snapshot
of exactly the packages a site's lock needs, with metadata rewritten by createrepo_c, so the lab
can be rebuilt offline later."""

from __future__ import annotations

import lzma
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from kickbake.errors import KickbakeError
from kickbake.hashing import file_digest
from kickbake.run import run

if TYPE_CHECKING:
    import requests

CHUNK = 1 << 16


def http_session(retries: int = 4, backoff: float = 0.2) -> requests.Session:
    """A session that retries connection errors and 429/5xx answers with backoff."""
    import requests  # loaded by the commands that download, not by every start
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(total=retries, backoff_factor=backoff, status_forcelist=(429, 500, 502, 503, 504),
                  allowed_methods=("GET", "HEAD"))
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def _verify(path: Path, checksum: str | None, url: str) -> None:
    """checksum is 'sha256:<hex>' (the lock's form); raise when the bytes differ."""
    if not checksum:
        return
    algorithm, _, expected = checksum.partition(":")
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise KickbakeError(f"{url}: {algorithm} is {actual}, the lock says {expected}",
                            hint="the repo changed under the lock: run ./kb lock --update")


def _get(session: requests.Session, url: str, part: Path, timeout: float) -> None:
    """Download into `part`, resuming from its current size when the server honours Range."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with session.get(url, headers=headers, stream=True, timeout=timeout) as answer:
        if answer.status_code == 416:  # already complete
            return
        answer.raise_for_status()
        mode = "ab" if have and answer.status_code == 206 else "wb"
        with part.open(mode) as handle:
            for block in answer.iter_content(CHUNK):
                handle.write(block)


def fetch(url: str, dest: Path, checksum: str | None = None, session: requests.Session | None = None,
          timeout: float = 60.0) -> Path:
    """Fetch `url` to `dest` (file:// copies), verify the checksum, keep a good existing file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and checksum:
        try:
            _verify(dest, checksum, url)
            return dest
        except KickbakeError:
            dest.unlink()
    parsed = urlparse(url)
    part = dest.with_name(dest.name + ".part")
    if parsed.scheme == "file":
        shutil.copyfile(unquote(parsed.path), part)
    else:
        import requests

        session = session or http_session()
        for attempt in (1, 2):  # a corrupt resume is retried once from scratch
            try:
                _get(session, url, part, timeout)
                _verify(part, checksum, url)
                break
            except KickbakeError:
                part.unlink(missing_ok=True)
                if attempt == 2:
                    raise
            except requests.RequestException as exc:
                raise KickbakeError(f"download failed: {url}: {exc}") from exc
    _verify(part, checksum, url)
    part.replace(dest)
    return dest


def apt_mirror_url(sources_dir: Path = Path("/etc/apt/sources.list.d"), etc_list: Path = Path("/etc/apt/sources.list")
                   ) -> str:
    """The Debian mirror this machine's apt already uses (read at run time, never stored)."""
    candidates = sorted(sources_dir.glob("*.sources")) + sorted(sources_dir.glob("*.list")) + [etc_list]
    for path in candidates:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            words = line.split()
            if path.suffix == ".sources" and words[:1] == ["URIs:"] and len(words) > 1:
                return words[1].rstrip("/") + "/"
            if words[:1] == ["deb"]:
                uri = next((w for w in words[1:] if "://" in w), None)
                if uri:
                    return uri.rstrip("/") + "/"
    raise KickbakeError("no apt source found", hint="configure a Debian mirror in /etc/apt/sources.list.d")


def write_deb_index(repo_dir: Path, index: str) -> Path:
    """Debian's counterpart of createrepo_c: dpkg-scanpackages over the mirrored pool, written
    where apt and libsolv look for it (index = dists/<suite>/<component>/binary-<arch>), as
    Packages and Packages.xz (debootstrap and apt take either)."""
    listing = run(["dpkg-scanpackages", "--multiversion", ".", "/dev/null"], cwd=repo_dir).stdout
    target = repo_dir / index / "Packages.xz"
    target.parent.mkdir(parents=True, exist_ok=True)
    # Filename: ./pool/... -> pool/..., as in the upstream archive
    text = "\n".join(line.replace("Filename: ./", "Filename: ", 1) for line in listing.splitlines()) + "\n"
    _atomic_write(target.with_name("Packages"), text.encode())
    _atomic_write(target, lzma.compress(text.encode()))
    return target


def _atomic_write(path: Path, data: bytes) -> None:
    with tool_output(path) as temporary:
        temporary.write_bytes(data)


def write_deb_release(repo_dir: Path, suite: str, components: tuple[str, ...], arch: str, label: str,
                      date: str) -> Path:
    """dists/<suite>/Release listing the sha256 and size of every index below it, as apt and
    debootstrap check them (date: RFC 2822, fixed by the caller so equal inputs give equal files)."""
    dists = repo_dir / "dists" / suite
    lines = ["Origin: kickbake", f"Label: {label}", f"Suite: {suite}", f"Codename: {suite}", f"Date: {date}",
             f"Architectures: {arch}", f"Components: {' '.join(components)}",
             "Description: a kickbake snapshot of exactly the packages a lock pins", "SHA256:"]
    for path in sorted(p for p in dists.rglob("*") if p.is_file() and p.parent != dists):
        lines.append(f" {file_digest(path, 'sha256')} {path.stat().st_size:>16} {path.relative_to(dists)}")
    release = dists / "Release"
    _atomic_write(release, ("\n".join(lines) + "\n").encode())
    return release


@dataclass(frozen=True)
class SigningKey:
    """The key a mirror's Debian Release files are signed with: generated once per mirror, its
    secret half in `secret` (mode 0600, under output/, never in git), its public half exported as
    a keyring file for debootstrap --keyring and the chroot's /etc/apt/trusted.gpg.d."""

    secret: Path
    keyring: Path


def _gpg(home: str, *args: str) -> list[str]:
    return ["gpg", "--homedir", home, "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "",
            *args]


@contextmanager
def gpg_session() -> Iterator[str]:
    """A throw-away GnuPG home in /tmp: short enough for gpg-agent's socket path (a home deep in
    output/ is not), and its agent stopped afterwards."""
    home = tempfile.mkdtemp(prefix="kbgpg.")
    try:
        yield home
    finally:
        run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False)
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def tool_output(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` for a tool to write (gpg --output), moved into place only when
    the tool succeeded: a failed or interrupted run leaves the previous file."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    yield temporary
    temporary.replace(path)


def mirror_signing_key(secret: Path, keyring: Path, label: str) -> SigningKey:
    """The mirror's key, made on first use. The secret half must live outside the published tree
    (the site's secrets/): everything under repos/ is served."""
    key = SigningKey(secret, keyring)
    if key.secret.is_file() and key.keyring.is_file():
        return key
    secret.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    keyring.parent.mkdir(parents=True, exist_ok=True)
    with gpg_session() as home:
        run(_gpg(home, "--quick-generate-key", f"{label} <mirror@kickbake.invalid>", "ed25519", "sign", "never"))
        with tool_output(secret) as secret_out:
            secret_out.touch(mode=0o600)  # 0600 before gpg writes a byte of it
            run(_gpg(home, "--yes", "--armor", "--output", str(secret_out), "--export-secret-keys"))
        with tool_output(keyring) as keyring_out:
            run(_gpg(home, "--output", str(keyring_out), "--export"))
    return key


def sign_release(release: Path, key: SigningKey) -> None:
    """InRelease (clearsigned) and Release.gpg (detached), the two forms apt and debootstrap read."""
    with gpg_session() as home:
        run(_gpg(home, "--import", str(key.secret)))
        for name, mode in (("InRelease", "--clearsign"), ("Release.gpg", "--detach-sign")):
            with tool_output(release.with_name(name)) as signed:
                run(_gpg(home, "--digest-algo", "SHA256", mode, "--output", str(signed), str(release)))


@dataclass
class MirrorResult:
    site: str
    root: Path
    repos: dict[str, int] = field(default_factory=dict)  # repo directory -> packages mirrored
    keyring: str = ""  # the public key the Debian repos are signed with


def _prune(repo_dir: Path, wanted: set[Path]) -> None:
    """Remove packages an earlier lock needed and this one does not: the indexes are rebuilt from
    the files, and the snapshot holds exactly the lock."""
    for path in sorted(repo_dir.rglob("*")):
        if path.suffix in (".deb", ".rpm") and path.is_file() and path not in wanted:
            path.unlink()


def mirror_packages(packages: list[dict[str, str]], base_urls: dict[str, str], out: Path,
                    deb_indexes: dict[str, str] | None = None, session: requests.Session | None = None,
                    into: dict[str, str] | None = None, note: Callable[[str], None] | None = None
                    ) -> dict[str, int]:
    """Download each locked package into out/<directory>/<location> (directory: into[repo], by
    default the repo's name), then write each directory's metadata: dpkg-scanpackages for those
    named in deb_indexes (directory -> index dir), createrepo_c for the others."""
    session = session or http_session()
    into = into or {}
    counts: dict[str, int] = {}
    size = 0
    for done, package in enumerate(sorted(packages, key=lambda p: (p["repo"], p["location"])), start=1):
        directory = into.get(package["repo"], package["repo"])
        url = base_urls[package["repo"]].rstrip("/") + "/" + package["location"]
        size += fetch(url, out / directory / package["location"], package["checksum"] or None, session).stat().st_size
        counts[directory] = counts.get(directory, 0) + 1
        if note and (done % 100 == 0 or done == len(packages)):
            note(f"{done}/{len(packages)} packages ({size / 1e6:.0f} MB)")
    wanted = {out / into.get(p["repo"], p["repo"]) / p["location"] for p in packages}
    for directory in sorted(counts):
        _prune(out / directory, wanted)
        if deb_indexes and directory in deb_indexes:
            write_deb_index(out / directory, deb_indexes[directory])
        else:
            run(["createrepo_c", "--quiet", str(out / directory)])
    return counts
