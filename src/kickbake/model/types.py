"""Small validated value types of the inventory; each failure carries a hint that says what to write.

Every string of the inventory that reaches a rendered file is typed by the syntax it lands in. A
`Syntax` full-matches its pattern (never `re.match` with `$`, which lets a trailing newline
through), bounds the length and refuses characters that are not printable (newlines, NUL, the
Unicode line separators), so a template only ever pastes one token or one line; XML templates
escape on top (render/templating.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import CoreSchema, PydanticCustomError, core_schema


class Frozen(BaseModel):
    """Every inventory object: immutable, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


def invalid(message: str, hint: str = "") -> PydanticCustomError:
    """A validation error whose hint survives into the `FILE:LINE: field: message (hint)` line."""
    return PydanticCustomError("kickbake", "{message}", {"message": message, "hint": hint})


def non_printing(text: str) -> str | None:
    """The first character of `text` that is neither printable nor a plain space: control
    characters, and the Unicode separators that line-splitting tools break lines at."""
    return next((ch for ch in text if not ch.isprintable() and ch != " "), None)


def shown(value: str) -> str:
    """A value as an error message quotes it: repr (control characters visible), long ones cut."""
    return repr(value) if len(value) <= 64 else f"{value[:40]!r}... ({len(value)} characters)"


@dataclass(frozen=True)
class Syntax:
    """One syntax of inventory strings: a full-match pattern (without anchors: it is the JSON
    schema's too), a length bound, and what a refusal says. `Annotated[str, SYNTAX]` types a field."""

    name: str  # the type's name in docs/inventory.md
    what: str  # completes "'x' is not ...", e.g. "an RFC 1123 host name"
    pattern: str
    max_length: int
    hint: str
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(self.pattern))

    def check(self, value: str) -> str:
        if len(value) > self.max_length:
            raise invalid(f"{shown(value)} is too long for {self.what} (at most {self.max_length} characters)",
                          self.hint)
        if self.regex.fullmatch(value) is None or non_printing(value) is not None:
            raise invalid(f"{shown(value)} is not {self.what}", self.hint)
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        out = dict(handler(schema))
        out.update(pattern=f"^(?:{self.pattern})$", maxLength=self.max_length)
        return out


SYNTAXES: dict[str, Syntax] = {}


def _syntax(name: str, what: str, pattern: str, max_length: int, hint: str) -> Syntax:
    SYNTAXES[name] = made = Syntax(name, what, pattern, max_length, hint)
    return made


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"  # RFC 1123: at most 63, no '-' at either end
_LINE = r"[^\x00-\x1f\x7f]*"  # one line; non_printing() refuses the Unicode separators as well
_PATH_PART = r"(?!\.\.?(?:/|$))[A-Za-z0-9._+@,=~-]{1,255}"  # no '.' or '..', no quote, space or '$'
_LVM_NAME = r"(?!\.\.?$)[A-Za-z0-9_+.][A-Za-z0-9_+.-]{0,126}"  # no leading '-': an lvcreate option

HOSTNAME_HINT = "use an RFC 1123 name: lowercase letters, digits and '-', e.g. drbd-node1"

HOSTNAME = _syntax("Hostname", "an RFC 1123 host name", _LABEL, 63, HOSTNAME_HINT)
DOMAIN = _syntax(
    "DomainName", "a DNS domain", rf"{_LABEL}(?:\.{_LABEL})*", 253,
    "write dot-separated RFC 1123 labels (lowercase letters, digits, '-'; at most 63 each), e.g. lab.example",
)
CATALOG_NAME = _syntax(
    "CatalogName", "a release or repo name", r"[A-Za-z0-9_.-]{1,64}", 64,
    "name one defined in releases/ or repos/, e.g. el9 or el9-baseos",
)
TIMEZONE = _syntax(
    "TimeZone", "a time zone", r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9][A-Za-z0-9_+-]*){0,2}", 64,
    "write an Olson name such as UTC or Europe/Berlin",
)
INTERFACE = _syntax("InterfaceName", "an interface name", r"[a-z][a-z0-9_.-]{0,14}", 15,
                    "write e.g. eth0, eth1, ens3 (at most 15 characters)")
DISK = _syntax("DiskName", "a disk name", r"[a-z][a-z0-9]*", 32, "write the kernel name without /dev, e.g. vda or sdb")
DEVICE = _syntax(
    "DevicePath", "a device path", rf"/dev(?:/{_PATH_PART})+", 255,
    "write a path under /dev, e.g. /dev/vdb or /dev/drbd0",
)
PATH = _syntax(
    "PathName", "a normalised path", rf"/?{_PATH_PART}(?:/{_PATH_PART})*", 4095,
    "write a path such as /var/lib/nova/instances: letters, digits and ._+@,=~- between single slashes",
)
PACKAGE = _syntax("PackageName", "a package name", r"[A-Za-z0-9@][A-Za-z0-9_.+:@-]*", 255,
                  "write a plain package or @group name")
SERVICE = _syntax("ServiceName", "a systemd unit name", r"[A-Za-z0-9_.:@][A-Za-z0-9_.:@-]*", 255,
                  "write a unit name such as chronyd or nova-compute.service")
SIZE = _syntax("Size", "a size", r"[0-9]{1,12}[KMG]", 13, "write a number with K, M or G, e.g. 33M")
CLUSTER = _syntax("ClusterName", "a cluster name", r"[A-Za-z0-9_-]{1,16}", 16,
                  "at most 16 letters, digits, '_' or '-' (cman and dlm use it)")
DRBD_RESOURCE = _syntax(
    "DrbdResourceName", "a DRBD resource name", r"[A-Za-z0-9_-]{1,128}", 128,
    "write letters, digits, '_' or '-', at most 128 (it names /etc/drbd.d/<name>.res), e.g. r0",
)
LVM_NAME = _syntax("LvmName", "an LVM name", _LVM_NAME, 127,
                   "write letters, digits and _+.- (not first: '-'), at most 127, e.g. vg_shared")
FENCE_AGENT = _syntax("FenceAgent", "a fence agent", r"fence_[a-z0-9_]{1,58}", 64, "write e.g. fence_ipmilan")
FENCE_KEY = _syntax("FenceParameter", "a fence parameter name", r"[a-z][a-z0-9_]{0,63}", 64,
                    "write the agent's option in lowercase with '_', e.g. ip, username, lanplus")
FENCE_VALUE = _syntax("FenceValue", "a fence parameter value", _LINE, 1024,
                      "write the value on one line, without control characters")
SHA256 = _syntax("Sha256", "a sha256", r"[0-9a-f]{64}", 64, "write 64 lowercase hex digits (sha256sum)")
CONSOLE = _syntax("Console", "a console", r"[A-Za-z][A-Za-z0-9]{0,31}(?:,[A-Za-z0-9]{1,31}){0,4}", 64,
                  "write a device and its options, e.g. ttyS0,115200n8")
KERNEL_ARG = _syntax(
    "KernelArgument", "a kernel argument", r"[A-Za-z0-9_.,:=/+@%~-]+", 255,
    "write one word per list item, e.g. quiet or net.ifnames=0: no spaces, quotes, ';', '$' or '#'",
)
# a quoted lvm.conf string: no quote, no backslash before the closing one (lint LVM006: a/r syntax)
LVM_FILTER = _syntax(
    "LvmFilter", "an lvm.conf string", r'(?:[^"\\\x00-\x1f\x7f]|\\[^"\x00-\x1f\x7f])*', 1024,
    "write the entry on one line, without '\"' and not ending in a backslash, e.g. a|^/dev/drbd.*|",
)
SPDX_ID = _syntax("SpdxId", "an SPDX license id", r"[A-Za-z0-9][A-Za-z0-9.+-]*", 128, "write e.g. GPL-3.0-only")
TEXT = _syntax("Text", "one line of text", _LINE, 1024, "write one line without control characters")
SOURCE = _syntax("ImageSource", "a path or URL", _LINE, 4095, "write one path or URL on one line")


def check_mac(value: str) -> str:
    normal = value.strip().lower().replace("-", ":")
    if not re.fullmatch(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}", normal):
        raise invalid(f"{shown(value)} is not a MAC address", "write six hex pairs: aa:bb:cc:dd:ee:ff")
    return normal


_CRYPT = re.compile(r"\$(?:1|2[abxy]|5|6|y|gy|7)\$[./A-Za-z0-9$=,]{8,}")
CRYPT_MAX = 256  # yescrypt ~73, SHA-512 crypt with rounds= ~120 characters


def check_password_hash(value: str) -> str:
    """Never echoes the value: a refused hash may be a plaintext password."""
    if len(value) > CRYPT_MAX or not _CRYPT.fullmatch(value):
        raise invalid(
            "a plaintext or unknown password form; kickbake only takes a crypt(3) hash",
            "make one with: openssl passwd -6  (SHA-512 crypt, starts with $6$)",
        )
    return value


# the comment is free text but lands in `sshkey --username=root "<key>"`: no quote, no backslash
_SSH_KEY = re.compile(
    r"(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/=]+"
    r'(?: [^"\\\x00-\x1f\x7f]*)?'
)
SSH_KEY_MAX = 16384


def check_ssh_key(value: str) -> str:
    key = value.strip()
    if len(key) > SSH_KEY_MAX or not _SSH_KEY.fullmatch(key) or non_printing(key) is not None:
        raise invalid(
            "not an OpenSSH public key (one line; no quote or backslash in the comment)",
            "paste one line of ~/.ssh/id_ed25519.pub: 'ssh-ed25519 AAAA... comment'",
        )
    return key


_CREDENTIAL_WORDS = {"passwd", "password", "pass", "pwd", "pw"}
RESERVED_FENCE_KEYS = {"name", "agent", "pcmk_host_list"}  # kickbake writes these itself


def is_credential(key: str) -> bool:
    """passwd, Password, PASS, pass_wd, snmp_priv_passwd, ...: a key whose value is a password
    (passwd_script, which names a program that prints one, is not)."""
    words = [w for w in re.split(r"[^a-z0-9]+", key.lower()) if w]
    return bool(words) and (words[-1] in _CREDENTIAL_WORDS or "".join(words) in _CREDENTIAL_WORDS)


def check_fence_key(key: str) -> str:
    """Before the key's syntax: a refused credential says why, whatever its spelling."""
    if is_credential(key):
        raise invalid(
            f"{shown(key)} would put a password in plaintext into generated files",
            "use passwd_script or a fence agent's key file; kickbake never writes secrets into configs",
        )
    if key in RESERVED_FENCE_KEYS:
        raise invalid(f"{key!r} is set by kickbake (the device's name, agent and node)", "remove it")
    return key


Hostname = Annotated[str, HOSTNAME]
DomainName = Annotated[str, DOMAIN]
CatalogName = Annotated[str, CATALOG_NAME]
TimeZone = Annotated[str, TIMEZONE]
InterfaceName = Annotated[str, INTERFACE]
DiskName = Annotated[str, DISK]
DevicePath = Annotated[str, DEVICE]
PathName = Annotated[str, PATH]
PackageName = Annotated[str, PACKAGE]
ServiceName = Annotated[str, SERVICE]
Size = Annotated[str, SIZE]
ClusterName = Annotated[str, CLUSTER]
DrbdResourceName = Annotated[str, DRBD_RESOURCE]
LvmName = Annotated[str, LVM_NAME]
FenceAgent = Annotated[str, FENCE_AGENT]
FenceParameter = Annotated[str, AfterValidator(check_fence_key), FENCE_KEY]
FenceValue = Annotated[str, FENCE_VALUE]
Sha256 = Annotated[str, SHA256]
Console = Annotated[str, CONSOLE]
KernelArgument = Annotated[str, KERNEL_ARG]
LvmFilter = Annotated[str, LVM_FILTER]
SpdxId = Annotated[str, SPDX_ID]
Text = Annotated[str, TEXT]
ImageSource = Annotated[str, SOURCE]
MacAddress = Annotated[str, AfterValidator(check_mac)]
PasswordHash = Annotated[str, AfterValidator(check_password_hash)]
SshKey = Annotated[str, AfterValidator(check_ssh_key)]


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
