"""Small validated value types of the inventory; each failure carries a hint that says what to write."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic_core import PydanticCustomError


class Frozen(BaseModel):
    """Every inventory object: immutable, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


def invalid(message: str, hint: str = "") -> PydanticCustomError:
    """A validation error whose hint survives into the `FILE:LINE: field: message (hint)` line."""
    return PydanticCustomError("kickbake", "{message}", {"message": message, "hint": hint})


_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_CRYPT = re.compile(r"^\$(1|2[abxy]|5|6|y|gy|7)\$[./A-Za-z0-9$=,]{8,}$")
_SSH_KEY = re.compile(r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-\S+) [A-Za-z0-9+/=]+( .*)?$")
_IFNAME = re.compile(r"^[a-z][a-z0-9_.-]{0,14}$")
_DEVICE = re.compile(r"^/dev/[A-Za-z0-9/_.-]+$")
_PACKAGE = re.compile(r"^[A-Za-z0-9@][A-Za-z0-9_.+:@-]*$")
_SIZE = re.compile(r"^[0-9]+[KMG]$")

HOSTNAME_HINT = "use an RFC 1123 name: lowercase letters, digits and '-', e.g. drbd-node1"


def check_hostname(value: str) -> str:
    if not _HOSTNAME.match(value):
        raise invalid(f"{value!r} is not an RFC 1123 host name", HOSTNAME_HINT)
    return value


def check_mac(value: str) -> str:
    normal = value.strip().lower().replace("-", ":")
    if not _MAC.match(normal):
        raise invalid(f"{value!r} is not a MAC address", "write six hex pairs: aa:bb:cc:dd:ee:ff")
    return normal


def check_password_hash(value: str) -> str:
    if not _CRYPT.match(value):
        raise invalid(
            "a plaintext or unknown password form; kickbake only takes a crypt(3) hash",
            "make one with: openssl passwd -6  (SHA-512 crypt, starts with $6$)",
        )
    return value


def check_ssh_key(value: str) -> str:
    if not _SSH_KEY.match(value.strip()):
        raise invalid(
            "not an OpenSSH public key", "paste one line of ~/.ssh/id_ed25519.pub: 'ssh-ed25519 AAAA... comment'"
        )
    return value.strip()


def check_ifname(value: str) -> str:
    if not _IFNAME.match(value):
        raise invalid(f"{value!r} is not an interface name", "write e.g. eth0, eth1, ens3")
    return value


def check_device(value: str) -> str:
    if not _DEVICE.match(value) or "/../" in value:
        raise invalid(f"{value!r} is not a device path", "write a path under /dev, e.g. /dev/vdb or /dev/drbd0")
    return value


def check_package(value: str) -> str:
    if not _PACKAGE.match(value):
        raise invalid(f"{value!r} is not a package name", "write a plain package or @group name")
    return value


def check_size(value: str) -> str:
    if not _SIZE.match(value):
        raise invalid(f"{value!r} is not a size", "write a number with K, M or G, e.g. 33M")
    return value


def check_secret_free(params: dict[str, Any]) -> dict[str, Any]:
    for key in params:
        if key.lower() in {"passwd", "password", "pass"}:
            raise invalid(
                f"{key!r} would put a password in plaintext into generated files",
                "use passwd_script or a fence agent's key file; kickbake never writes secrets into configs",
            )
    return params


Hostname = Annotated[str, AfterValidator(check_hostname)]
MacAddress = Annotated[str, AfterValidator(check_mac)]
PasswordHash = Annotated[str, AfterValidator(check_password_hash)]
SshKey = Annotated[str, AfterValidator(check_ssh_key)]
InterfaceName = Annotated[str, AfterValidator(check_ifname)]
DevicePath = Annotated[str, AfterValidator(check_device)]
PackageName = Annotated[str, AfterValidator(check_package)]
Size = Annotated[str, AfterValidator(check_size)]


class Stack(StrEnum):
    """Which cluster stack a cluster runs."""

    LEGACY = "legacy"  # cman + clvmd + corosync 1.x (Fedora 15/16, RHEL 6)
    CURRENT = "current"  # corosync 3 + pacemaker + dlm + lvmlockd


class NetworkPurpose(StrEnum):
    MANAGEMENT = "management"
    REPLICATION = "replication"  # DRBD traffic, usually a back-to-back link
    CLUSTER = "cluster"  # corosync ring only


class DiskUse(StrEnum):
    ROOT = "root"  # the operating system goes here
    DRBD = "drbd"  # a DRBD backing disk: never touched directly
    DATA = "data"
    UNUSED = "unused"


class FencingMode(StrEnum):
    DEVICE = "device"  # a real fence device per node (ipmilan, redfish, sbd, ...)
    MANUAL = "manual"  # lab only: no device; an operator acknowledges each fence by hand
    DISABLED = "disabled"  # no fencing at all: never with dlm, clvmd or dual-primary DRBD


class DrbdFencing(StrEnum):
    DONT_CARE = "dont-care"
    RESOURCE_ONLY = "resource-only"
    RESOURCE_AND_STONITH = "resource-and-stonith"


class OpenStackRole(StrEnum):
    CONTROLLER = "controller"
    COMPUTE = "compute"


class Bake(StrEnum):
    """How much of a node is baked into its image (the three ways operators ship software)."""

    BASE = "base"  # OS + first-boot agent; packages installed at first boot
    COMPLETE = "complete"  # every package baked; configs applied at first boot
    FULL = "full"  # packages and every node's config bundle baked; first boot selects its node


class ImageType(StrEnum):
    QCOW2 = "qcow2"
    RAW = "raw"
    TAR = "tar"


class DhcpMode(StrEnum):
    OWN = "own"  # kickbake's dnsmasq hands out the addresses
    PROXY = "proxy"  # another DHCP server owns the network; dnsmasq only answers PXE
