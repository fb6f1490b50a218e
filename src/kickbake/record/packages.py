"""One neutral record of an installed package. Readers (rpmdb, dpkg, the kickstart TSV) produce it;
the manifest, SPDX and CycloneDX writers only serialize it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import quote

PackageKind = Literal["rpm", "deb"]


@dataclass(frozen=True, order=True)
class PackageRecord:
    """An installed package as its package database states it. `license` is the declared text as
    is; licenses.py maps it to an SPDX expression when it can."""

    name: str
    arch: str
    version: str
    release: str = ""  # rpm RELEASE; deb: the Debian revision (after the last '-')
    epoch: int | None = None
    kind: PackageKind = "rpm"
    license: str = ""
    source: str = ""  # rpm SOURCERPM, deb Source package
    digest: str = ""  # rpm SIGMD5 (md5 of header+payload); empty for deb (dpkg keeps none)
    signed_by: str = ""  # key id of the rpm signature, empty when unsigned
    repo: str = field(default="", compare=False)

    @property
    def key(self) -> tuple[str, str]:
        """Identity across builds: one package name per architecture."""
        return self.name, self.arch

    @property
    def evr(self) -> str:
        """The version as the package manager prints it: [epoch:]version[-release]."""
        text = f"{self.epoch}:{self.version}" if self.epoch else self.version
        return f"{text}-{self.release}" if self.release else text

    @property
    def nevra(self) -> str:
        return f"{self.name}-{self.evr}.{self.arch}" if self.kind == "rpm" else f"{self.name}_{self.evr}_{self.arch}"

    def purl(self, namespace: str) -> str:
        """Package URL: pkg:rpm/fedora/bash@5.1-1?arch=x86_64, pkg:deb/debian/bash@5.2-2?arch=amd64."""
        version = quote(f"{self.version}-{self.release}" if self.release else self.version, safe=".+~-_")
        qualifiers = [f"arch={quote(self.arch)}"]
        if self.epoch:
            qualifiers.append(f"epoch={self.epoch}")
        return f"pkg:{self.kind}/{namespace}/{quote(self.name, safe='.+-_')}@{version}?{'&'.join(qualifiers)}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PackageRecord:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def split_deb_version(text: str) -> tuple[int | None, str, str]:
    """'1:2.36-9+deb12u4' -> (1, '2.36', '9+deb12u4'), as dpkg splits epoch, upstream and revision."""
    epoch: int | None = None
    if ":" in text:
        head, text = text.split(":", 1)
        epoch = int(head)
    upstream, dash, revision = text.rpartition("-")
    return (epoch, upstream, revision) if dash else (epoch, text, "")


def sorted_records(records: list[PackageRecord]) -> list[PackageRecord]:
    return sorted(records, key=lambda r: (r.name, r.arch, r.evr))
