"""Downloads (requests: retries, resume, checksum verification) and `./kb mirror`: a local snapshot
of exactly the packages a site's lock needs, with metadata rewritten by createrepo_c, so the lab
can be rebuilt offline later."""

from __future__ import annotations

import hashlib
import lzma
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from kickbake.errors import KickbakeError
from kickbake.run import run

CHUNK = 1 << 16


def http_session(retries: int = 4, backoff: float = 0.2) -> requests.Session:
    """A session that retries connection errors and 429/5xx answers with backoff."""
    retry = Retry(total=retries, backoff_factor=backoff, status_forcelist=(429, 500, 502, 503, 504),
                  allowed_methods=("GET", "HEAD"))
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def file_checksum(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, checksum: str | None, url: str) -> None:
    """checksum is 'sha256:<hex>' (the lock's form); raise when the bytes differ."""
    if not checksum:
        return
    algorithm, _, expected = checksum.partition(":")
    actual = file_checksum(path, algorithm)
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


@dataclass
class MirrorResult:
    site: str
    root: Path
    repos: dict[str, int] = field(default_factory=dict)  # repo -> packages mirrored


def write_deb_index(repo_dir: Path, index: str) -> Path:
    """Debian's counterpart of createrepo_c: dpkg-scanpackages over the mirrored pool, written
    where apt and libsolv look for it (index = dists/<suite>/<component>/binary-<arch>)."""
    listing = run(["dpkg-scanpackages", "--multiversion", ".", "/dev/null"], cwd=repo_dir).stdout
    target = repo_dir / index / "Packages.xz"
    target.parent.mkdir(parents=True, exist_ok=True)
    # Filename: ./pool/... -> pool/..., as in the upstream archive
    text = "\n".join(line.replace("Filename: ./", "Filename: ", 1) for line in listing.splitlines()) + "\n"
    target.write_bytes(lzma.compress(text.encode()))
    return target


def mirror_packages(packages: list[dict[str, str]], base_urls: dict[str, str], out: Path,
                    deb_indexes: dict[str, str] | None = None, session: requests.Session | None = None
                    ) -> dict[str, int]:
    """Download each locked package into out/<repo>/<location>, then write each repo's metadata:
    createrepo_c for rpm repos, dpkg-scanpackages for the Debian ones named in deb_indexes."""
    session = session or http_session()
    counts: dict[str, int] = {}
    for package in sorted(packages, key=lambda p: (p["repo"], p["location"])):
        url = base_urls[package["repo"]].rstrip("/") + "/" + package["location"]
        fetch(url, out / package["repo"] / package["location"], package["checksum"] or None, session)
        counts[package["repo"]] = counts.get(package["repo"], 0) + 1
    for repo in sorted(counts):
        if deb_indexes and repo in deb_indexes:
            write_deb_index(out / repo, deb_indexes[repo])
        else:
            run(["createrepo_c", "--quiet", str(out / repo)])
    return counts
