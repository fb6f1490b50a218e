"""`./kb lock`: resolve every image's package set against its repos' metadata with libsolv and
write repos/<site>.lock; builds install exactly what the lock pins (`pinned_packages`)."""

from __future__ import annotations

import json
import lzma
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kickbake.bounded import read_text_bounded
from kickbake.elements import builder_packages
from kickbake.errors import BadInput, KickbakeError
from kickbake.hashing import sha256_file
from kickbake.model.catalog import Repo
from kickbake.model.load import load_site
from kickbake.model.plan import SitePlan, plan
from kickbake.paths import OUTPUT_DIR, PACKAGE_DIR, REPOS_DIR
from kickbake.record.mirror import apt_mirror_url, fetch
from kickbake.run import run

FORMAT = "kickbake-lock/1"
SYSTEM_PYTHON = "/usr/bin/python3"  # has Debian's python3-solv; see solve_helper.py for why
ARCH = {"rpm": "x86_64", "deb": "amd64"}
_REPO_NS = {"r": "http://linux.duke.edu/metadata/repo"}


@dataclass(frozen=True)
class ImageRequest:
    """What one image asks for: its release's package manager, repos and package names."""

    image: str
    release: str
    kind: str  # rpm or deb
    repos: tuple[Repo, ...]
    packages: tuple[str, ...]
    # what the image builder installs before the role packages (elements.builder_packages), and
    # whether debootstrap's minbase (every Priority: required package) comes first
    base: tuple[str, ...] = ()
    bootstrap: str = ""

    @property
    def arch(self) -> str:
        return ARCH[self.kind]


HOST_MIRROR = "host-mirror:"  # stands for the machine's apt mirror, which is never written down


def repo_url(repo: Repo) -> str:
    if repo.host_mirror:
        return apt_mirror_url()
    if not repo.baseurl:
        raise KickbakeError(f"repo {repo.name}: locking needs a baseurl (mirrorlists are not resolved)")
    return repo.baseurl.rstrip("/") + "/"


def deb_index_dir(repo: Repo, arch: str = ARCH["deb"]) -> str:
    component = repo.components[0] if repo.components else "main"
    return f"dists/{repo.suite}/{component}/binary-{arch}"


def _signed_deb_checksum(repo: Repo, base: str, index: str, cache: Path) -> str:
    """gpgcheck for a Debian repo: gpgv checks InRelease against the repo's keyring, and the
    index's sha256 comes from that signed file."""
    if not repo.gpgkey:
        raise KickbakeError(f"repo {repo.name}: gpgcheck needs a gpgkey (a keyring file)")
    signed = fetch(f"{base}dists/{repo.suite}/InRelease", cache / repo.name / "InRelease")
    run(["gpgv", "--keyring", repo.gpgkey.removeprefix("file://"), str(signed)])
    wanted = index.split("/", 2)[2]  # main/binary-amd64/Packages.xz
    in_sha256 = False
    for line in signed.read_text().splitlines():
        if not line.startswith(" "):
            in_sha256 = line.startswith("SHA256:")
        elif in_sha256 and line.split()[-1] == wanted:
            return f"sha256:{line.split()[0]}"
    raise KickbakeError(f"repo {repo.name}: InRelease lists no sha256 for {wanted}")


def fetch_metadata(repo: Repo, arch: str, cache: Path) -> Path:
    """The package index of one repo, verified against its repomd.xml checksum (rpm-md)."""
    base = repo_url(repo)
    if repo.kind == "deb":
        index = f"{deb_index_dir(repo, arch)}/Packages.xz"
        signed = _signed_deb_checksum(repo, base, index, cache) if repo.gpgcheck else None
        return fetch(base + index, cache / repo.name / "Packages.xz", signed)
    repomd = fetch(base + "repodata/repomd.xml", cache / repo.name / "repomd.xml.new")
    data = next((d for d in ET.parse(repomd).getroot().findall("r:data", _REPO_NS) if d.get("type") == "primary"),
                None)
    if data is None:
        raise KickbakeError(f"repo {repo.name}: repomd.xml lists no primary metadata")
    location_node, checksum = data.find("r:location", _REPO_NS), data.find("r:checksum", _REPO_NS)
    location = location_node.get("href") if location_node is not None else None
    if location is None or checksum is None:
        raise KickbakeError(f"repo {repo.name}: repomd.xml primary entry lacks location or checksum")
    return fetch(base + location, cache / repo.name / Path(location).name, f"{checksum.get('type')}:{checksum.text}")


def required_packages(packages_index: Path) -> list[str]:
    """The names debootstrap --variant=minbase installs from a Debian index: every package of
    Priority: required (debootstrap adds apt, which base_packages lists)."""
    opener = lzma.open if packages_index.suffix == ".xz" else open
    names, name = set(), ""
    with opener(packages_index, "rt", encoding="utf-8", errors="replace") as index:
        for line in index:
            if line.startswith("Package: "):
                name = line[9:].strip()
            elif line.startswith("Priority: required") and name:
                names.add(name)
    return sorted(names)


def resolve(request: ImageRequest, cache: Path) -> list[dict[str, Any]]:
    """Run libsolv (solve_helper.py under Debian's python3) on the image's package set, together
    with what the image builder installs (base, and the bootstrap set from the first repo)."""
    metadata = [{"name": r.name, "metadata": str(fetch_metadata(r, request.arch, cache))} for r in request.repos]
    bootstrap = required_packages(Path(metadata[0]["metadata"])) if request.bootstrap == "minbase" else []
    names = sorted({p for p in (*request.packages, *request.base, *bootstrap) if not p.startswith("@")})
    payload = {"disttype": request.kind, "arch": request.arch, "repos": metadata, "install": names}
    proc = run([SYSTEM_PYTHON, str(PACKAGE_DIR / "record" / "solve_helper.py")], input=json.dumps(payload))
    answer = json.loads(proc.stdout)
    if "problems" in answer:
        raise BadInput("\n".join(f"image {request.image}: {p}" for p in answer["problems"]),
                       hint="add the missing repo or fix the package name")
    packages: list[dict[str, Any]] = answer["packages"]
    return packages


def image_requests(site_plan: SitePlan) -> list[ImageRequest]:
    """Per image: the union of the packages of the nodes that boot it (their roles)."""
    requests = []
    for image in sorted(site_plan.site.images, key=lambda i: i.name):
        views = [v for v in site_plan.nodes if set(v.node.roles) & set(image.roles)]
        if not views:
            continue
        release = views[0].release
        packages = sorted({p for v in views for p in v.packages})
        requests.append(ImageRequest(image.name, release.name, "deb" if release.family == "debian" else "rpm",
                                     tuple(r for r in views[0].repos if r.enabled), tuple(packages),
                                     builder_packages(release),
                                     release.diskimage.bootstrap))
    return requests


def lock_images(site: str, requests: list[ImageRequest], cache: Path) -> dict[str, Any]:
    images = {}
    for request in requests:
        images[request.image] = {
            "release": request.release, "kind": request.kind, "arch": request.arch,
            "repos": {r.name: HOST_MIRROR if r.host_mirror else repo_url(r) for r in request.repos},
            "requested": sorted(request.packages),
            "base": list(request.base),
            "bootstrap": request.bootstrap,
            "packages": resolve(request, cache),
        }
    return {"format": FORMAT, "site": site, "images": images}


def lock_matches(entry: dict[str, Any], request: ImageRequest) -> bool:
    """Whether a lock entry was resolved for this request's package set (site and builder base)."""
    return (entry.get("requested") == sorted(request.packages) and entry.get("base", []) == list(request.base)
            and entry.get("bootstrap", "") == request.bootstrap)


def locked_repo_url(url: str) -> str:
    """A lock's repo URL, with the host-mirror placeholder resolved at run time."""
    return apt_mirror_url() if url == HOST_MIRROR else url


def lock_text(lock: dict[str, Any]) -> str:
    return json.dumps(lock, indent=2, sort_keys=True) + "\n"


def load_lock(path: Path) -> dict[str, Any]:
    try:
        lock: dict[str, Any] = json.loads(read_text_bounded(path))
    except (OSError, ValueError) as exc:
        raise KickbakeError(f"{path}: cannot read the lock: {exc}", hint="run ./kb lock --site S") from exc
    if lock.get("format") != FORMAT:
        raise KickbakeError(f"{path}: not a kickbake lock")
    return lock


def write_lock(path: Path, lock: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)  # a site project without repos/ yet
    temporary.write_text(lock_text(lock))
    temporary.replace(path)


@dataclass(frozen=True)
class LockChange:
    image: str
    name: str
    arch: str
    before: str  # "" when added
    after: str  # "" when removed

    def __str__(self) -> str:
        what = f"{self.name}.{self.arch}"
        if not self.before:
            return f"{self.image}: + {what} {self.after}"
        if not self.after:
            return f"{self.image}: - {what} {self.before}"
        return f"{self.image}: ~ {what} {self.before} -> {self.after}"


def package_evr(package: dict[str, Any]) -> str:
    """[epoch:]version[-release] of a locked (or recorded) package, as apt and dpkg write it."""
    text = f"{package['epoch']}:{package['version']}" if package.get("epoch") else package["version"]
    return f"{text}-{package['release']}" if package.get("release") else text


def lock_changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[LockChange]:
    changes = []
    old_images = (old or {}).get("images", {})
    for image in sorted(set(old_images) | set(new["images"])):
        before = {(p["name"], p["arch"]): package_evr(p) for p in old_images.get(image, {}).get("packages", [])}
        after = {(p["name"], p["arch"]): package_evr(p) for p in new["images"].get(image, {}).get("packages", [])}
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                changes.append(LockChange(image, key[0], key[1], before.get(key, ""), after.get(key, "")))
    return changes


@dataclass
class LockResult:
    path: str
    images: dict[str, int]
    changes: list[LockChange]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "changes": [str(c) for c in self.changes]}


def lock_site(site_path: str | Path, update: bool = False, repos_dir: Path = REPOS_DIR,
              cache: Path = OUTPUT_DIR / ".cache" / "repodata") -> LockResult:
    """Write repos/<site>.lock. Without --update an existing lock is kept for images whose
    requested packages did not change; with it every image is resolved again."""
    site_plan = plan(load_site(site_path))
    path = repos_dir / f"{site_plan.site.site}.lock"
    old = load_lock(path) if path.exists() else None
    requests = image_requests(site_plan)
    if old and not update:
        stale = [r for r in requests if not lock_matches(old["images"].get(r.image, {}), r)]
        fresh = lock_images(site_plan.site.site, stale, cache)
        kept = {r.image: old["images"][r.image] for r in requests if r not in stale}
        new = {**fresh, "images": dict(sorted({**kept, **fresh["images"]}.items()))}
    else:
        new = lock_images(site_plan.site.site, requests, cache)
    write_lock(path, new)
    counts = {name: len(image["packages"]) for name, image in new["images"].items()}
    return LockResult(str(path), counts, lock_changes(old, new))


def pinned_packages(lock: dict[str, Any], image: str) -> list[str]:
    """What the build installs: rpm NEVRAs (name-[epoch:]version-release.arch) for dnf, or
    name=version for apt, exactly as locked."""
    entry = lock["images"].get(image)
    if entry is None:
        raise KickbakeError(f"image {image} is not in the lock", hint="run ./kb lock --site S")
    if entry["kind"] == "deb":
        return [f"{p['name']}={package_evr(p)}" for p in entry["packages"]]
    return [f"{p['name']}-{package_evr(p)}.{p['arch']}" for p in entry["packages"]]


def pinned_for_image(site: str, image: str, repos_dir: Path = REPOS_DIR) -> list[str]:
    """What the build of `image` installs, from repos/<site>.lock (see pinned_packages)."""
    return pinned_packages(load_lock(repos_dir / f"{site}.lock"), image)


def lock_sha256(path: Path) -> str | None:
    return sha256_file(path) if path.exists() else None

