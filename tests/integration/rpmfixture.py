"""Build small real RPMs with rpmbuild and a repo with createrepo_c (test setup only).

Debian's rpm keeps its database under ~/.rpmdb unless told otherwise: every rpm/rpmbuild/dnf here
runs with HOME pointing at a temporary directory whose .rpmmacros sets %_dbpath, so an installroot
gets a normal /var/lib/rpm."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kickbake.run import run


@dataclass(frozen=True)
class FakePackage:
    name: str
    version: str
    license: str
    requires: tuple[str, ...] = ()
    release: str = "1"


SPEC = """Name: {name}
Version: {version}
Release: {release}
Summary: kickbake test package {name}
License: {license}
BuildArch: noarch
{requires_lines}
%description
kickbake test package {name}.

%install
mkdir -p %{{buildroot}}/usr/share/{name}
echo {name}-{version} > %{{buildroot}}/usr/share/{name}/VERSION

%files
/usr/share/{name}/VERSION
"""


def rpm_home(base: Path) -> dict[str, str]:
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".rpmmacros").write_text("%_dbpath /var/lib/rpm\n%_topdir " + str(base / "rpmbuild") + "\n")
    return {"HOME": str(home)}


KEY_BATCH = """%no-protection
Key-Type: RSA
Key-Length: 2048
Name-Real: kickbake test
Name-Email: test@kickbake.invalid
Expire-Date: 0
%commit
"""


def signing_key(base: Path) -> str:
    """A throwaway gpg key under base/gnupg; returns its long key id (lower case)."""
    home = base / "gnupg"
    if not home.exists():
        home.mkdir(mode=0o700)
        (base / "key.batch").write_text(KEY_BATCH)
        run(["gpg", "--batch", "--quiet", "--gen-key", str(base / "key.batch")], env={"GNUPGHOME": str(home)})
    listing = run(["gpg", "--list-keys", "--with-colons"], env={"GNUPGHOME": str(home)}).stdout
    return next(line.split(":")[4] for line in listing.splitlines() if line.startswith("pub:")).lower()


def sign_rpms(base: Path, rpms: list[Path]) -> str:
    key = signing_key(base)
    run(["rpmsign", "--addsign", "--define", "_gpg_name kickbake test", "--define", "__gpg /usr/bin/gpg",
         *map(str, rpms)], env={**rpm_home(base), "GNUPGHOME": str(base / "gnupg")})
    return key


def build_repo(base: Path, packages: list[FakePackage], sign: bool = False) -> Path:
    """rpmbuild each package into base/repo (signed with a test key when asked), then createrepo_c
    it; returns the repo directory."""
    env = rpm_home(base)
    repo = base / "repo"
    repo.mkdir(parents=True, exist_ok=True)
    for package in packages:
        spec = base / f"{package.name}.spec"
        requires = "\n".join(f"Requires: {r}" for r in package.requires)
        spec.write_text(SPEC.format(requires_lines=requires, name=package.name, version=package.version,
                                    release=package.release, license=package.license))
        run(["rpmbuild", "-bb", "--quiet", "--define", f"_rpmdir {repo}", "--define", "_build_id_links none",
             str(spec)], env=env)
    if sign:
        sign_rpms(base, sorted(repo.rglob("*.rpm")))
    run(["createrepo_c", "--quiet", str(repo)])
    return repo


def dnf_install(base: Path, repo: Path, root: Path, nevras: list[str]) -> None:
    """Install exactly these NEVRAs from the fixture repo into an installroot with the real dnf."""
    run(["dnf", "-y", "-q", f"--installroot={root}", "--setopt=reposdir=/dev/null", "--setopt=cachedir="
         + str(base / "dnfcache"), "--nogpgcheck", f"--repofrompath=fixture,file://{repo}",
         "--releasever=43", "--setopt=install_weak_deps=False", "install", *nevras], env=rpm_home(base))
