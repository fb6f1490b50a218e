"""Per-release data (src/kickbake/releases/*.yml) and the repo catalogue (repos/*.yml).

A release file is one explicit, diffable description of an OS release, like pykickstart's handlers:
supporting a new release is a copied file and a reviewed diff, never a new if/else branch."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from kickbake.errors import BadInput, Problem
from kickbake.model.types import Frozen, PackageName
from kickbake.model.yamlsource import YamlSource, load_yaml
from kickbake.paths import RELEASES_DIR, REPOS_DIR


class Partitioning(Frozen):
    """How the release's anaconda lays out the root disk so it boots on BIOS and UEFI alike."""

    reqpart: bool  # `reqpart` (F23+, RHEL 8+): anaconda adds what the platform needs (ESP, biosboot)
    fstype: Literal["ext4", "xfs"]  # the release's default filesystem for / and /boot
    efi_fstype: str = "efi"  # the ESP's fstype where the layout must name it (no reqpart)


class KickstartDialect(Frozen):
    """What the release's anaconda understands."""

    handler: str  # pykickstart version name, e.g. F15, RHEL9
    ks_arg: str  # installer kernel argument naming the kickstart URL (ks= or inst.ks=)
    repo_arg: str  # installer kernel argument naming the install tree (method= or inst.repo=)
    sshkey_command: bool  # `sshkey` exists (F22+); otherwise keys are written in %post
    keyboard: str  # arguments of the keyboard command
    auth: str | None  # `auth`/`authconfig` arguments, None where the command is gone
    firewall: str  # arguments of the firewall command
    bootloader: str
    packages_header: str  # options after %packages
    boot_args: tuple[str, ...] = ()  # installer network arguments on a PXE command line
    liveimg: bool = False  # anaconda's `liveimg` command (F19+, RHEL7+): install a baked image tar
    partitioning: Partitioning


class StackFacts(Frozen):
    """Which cluster and storage stack the release can run."""

    stacks: tuple[Literal["legacy", "current"], ...]
    lvm: Literal["2.02", "2.03"]
    drbd_dialect: Literal["8.3", "8.4", "9"]
    drbd_fence_peer: str
    drbd_unfence_peer: str | None
    dlm: bool  # dlm exists (gone from RHEL 10)
    corosync: Literal[1, 3]
    devices_file: bool  # lvm2 uses /etc/lvm/devices/system.devices by default
    pacemaker_fencing_property: str = "stonith-enabled"
    # cluster filesystems its shared-LVM images carry (shared-lvm-* packages), the preferred first
    cluster_filesystems: tuple[Literal["gfs2", "ocfs2"], ...] = ()


class Catalog(Frozen):
    """A service's Keystone catalog entry: one URL on the controller's management address."""

    type: str  # identity, image, placement, compute
    port: int
    path: str = ""  # /v3, /v2.1; the Diablo compute URL carries %(tenant_id)s


class Uwsgi(Frozen):
    """An API the distribution runs under uwsgi with its own ini (Debian): kickbake writes that ini
    so the worker count is the site's (the packages ask for 8-16 workers each)."""

    ini: str  # /etc/keystone/keystone-uwsgi.ini
    app: str  # its wsgi-file, /usr/bin/keystone-wsgi-public
    name: str  # uwsgi's name and the log file's: keystone-api -> /var/log/keystone/keystone-api.log
    threads: int = 1  # per worker (nova-api is not thread-safe under uwsgi: 1)
    extra: tuple[str, ...] = ()  # more `key = value` lines of the package's own ini (placement's http options)


class AuthOptions(Frozen):
    """Where a service's config names its Keystone user: registration reads name and password there."""

    section: str = "keystone_authtoken"
    user: str = "username"
    password: str = "password"


class OpenStackService(Frozen):
    """One OpenStack service of the controller, in first-boot order."""

    name: Literal["keystone", "glance", "placement", "nova"]  # its database, its secrets' prefix
    user: str  # the system user its manage commands run as (the group of its config files)
    configs: tuple[str, ...] = Field(min_length=1)  # rendered from openstack/<dialect>/<file name>.j2
    units: tuple[str, ...]  # started in this order once its database and schema are there
    # step name -> a fixed command run once as root before the manage commands (Fernet and
    # credential keys: keystone-manage creates and chowns their directories; EL: httpd's conf link)
    prepare: dict[str, tuple[str, ...]] = {}
    manage: dict[str, str] = {}  # step name -> command run once as `user`, in order (schema, cells)
    catalog: Catalog
    uwsgi: Uwsgi | None = None
    auth: AuthOptions | None = AuthOptions()  # its Keystone user in configs[0]; None: it has none (Keystone)
    options: tuple[str, ...] = ()  # its config-generator namespaces: what oslo-config-validator checks against


class OpenStackFacts(Frozen):
    """Which OpenStack the release ships and how its controller is brought up at first boot."""

    series: str  # zed, epoxy, diablo
    # ini: oslo.config files, Keystone v3 (keystone-manage bootstrap, then its API registers the
    # rest); diablo: Nova's gflags flag file, Keystone 2011.3 (keystone-manage tenant/user/role/service)
    dialect: Literal["ini", "diablo"]
    region: str = "RegionOne"
    sql_service: str = "mariadb"  # the database server unit (mysqld before MariaDB)
    sql_config: str | None = None  # a server drop-in kickbake writes (bind to the management address)
    broker_service: str = "rabbitmq-server"
    cache_service: str | None = "memcached"  # Keystone's token cache for the APIs' auth middleware
    services: tuple[OpenStackService, ...] = Field(min_length=1)

    def service(self, name: str) -> OpenStackService | None:
        return next((s for s in self.services if s.name == name), None)


class FirstBoot(Frozen):
    """What the first-boot agent needs on a node of this release."""

    python: str  # the interpreter the agent (and a kickstart's install %post) runs on
    packages: tuple[PackageName, ...]  # the agent's runtime dependencies (kickstart %packages)
    package_db: Literal["rpm", "dpkg"]  # what the install report reads the package list from


class DiskImage(Frozen):
    """How diskimage-builder builds the release's images."""

    element: str  # the distro element: fedora, centos, debian-minimal
    release: str  # DIB_RELEASE, and the key of pkg-map release sections: 43, 9-stream, bookworm
    bootstrap: str = ""  # debootstrap --variant the base install starts from (minbase), where one
    # what the builder installs before any role package, so the lock pins it too (Debian)
    base_packages: tuple[PackageName, ...] = ()
    # what builds the image's initramfs; initramfs-tools images install themselves over PXE
    # (elements/kickbake-netinstall), dracut ones are installed by anaconda
    initramfs: Literal["dracut", "initramfs-tools"] = "dracut"


class Supply(Frozen):
    """A repository the release's base repos lack and a feature's packages come from."""

    what: str  # the packages as a message names them, e.g. "dlm" or "kmod-drbd9x and drbd9x-utils"
    repos: tuple[str, ...] = Field(min_length=1)  # any one of these, in the site's repos:, provides them


class Release(Frozen):
    name: str
    pretty: str
    family: Literal["fedora", "el", "debian"]
    version: str
    kickstart: KickstartDialect | None  # None: no anaconda (Debian): image and PXE targets only
    facts: StackFacts
    packages: dict[str, tuple[PackageName, ...]]  # feature -> packages
    services: dict[str, tuple[str, ...]]  # feature -> services to enable
    firstboot: FirstBoot
    supply: dict[str, tuple[Supply, ...]] = {}  # feature -> repos the site must list for it (lint SUP001)
    fence_agents: tuple[str, ...] = ()  # what the release's fence-agents installs (lint FEN008)
    diskimage: DiskImage = Field(alias="dib")  # the release file's `dib:`
    openstack: OpenStackFacts | None = None  # None: the release ships no OpenStack

    @property
    def dib(self) -> dict[str, Any]:
        """The `dib:` settings as the release file writes them (only the keys it sets), for the
        package layer's id and layer.json (build/identity.py). Read `diskimage` otherwise."""
        return self.diskimage.model_dump(mode="json", exclude_unset=True)


class Repo(Frozen):
    """A package repository; kickstarts and images install only from these."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    kind: Literal["rpm", "deb"]
    description: str = ""
    baseurl: str | None = None
    mirrorlist: str | None = None
    host_mirror: bool = False  # deb: use the mirror this machine's apt already uses
    suite: str | None = None
    components: tuple[str, ...] = ()
    gpgcheck: bool = True
    gpgkey: str | None = None
    install_tree: bool = False  # the kickstart `url` (installer tree), not a `repo` line
    enabled: bool = True


class RepoFile(Frozen):
    release: str
    repos: tuple[Repo, ...]


def _validated(cls: type[Frozen], source: YamlSource) -> Any:
    try:
        return cls.model_validate(source.data)
    except ValidationError as exc:
        problems = [source.problem(e["loc"], e["msg"]) for e in exc.errors()]
        raise BadInput(problems) from exc


@cache
def load_releases(directory: Path = RELEASES_DIR) -> dict[str, Release]:
    releases = {}
    for path in sorted(directory.glob("*.yml")):
        release = _validated(Release, load_yaml(path))
        if release.name != path.stem:
            raise BadInput(Problem(str(path), 1, "name", f"{release.name!r} must match the file name {path.stem!r}"))
        releases[release.name] = release
    return releases


@cache
def load_repos(directory: Path = REPOS_DIR) -> dict[str, Repo]:
    repos: dict[str, Repo] = {}
    problems = []
    for path in sorted(directory.glob("*.yml")):
        source = load_yaml(path)
        repo_file = _validated(RepoFile, source)
        for index, repo in enumerate(repo_file.repos):
            if repo.name in repos:
                problems.append(source.problem(("repos", index, "name"), f"repo {repo.name!r} is defined twice"))
            if not (repo.baseurl or repo.mirrorlist or repo.host_mirror):
                problems.append(
                    source.problem(("repos", index), "no baseurl, mirrorlist or host_mirror", "say where it lives")
                )
            repos[repo.name] = repo
    if problems:
        raise BadInput(problems)
    return repos


def features_known(releases: Iterable[Release]) -> set[str]:
    return {feature for release in releases for feature in release.packages}
