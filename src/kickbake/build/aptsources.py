"""The Debian mirror this machine's apt already uses, read from its sources at run time.

Nothing here (nor in any committed file) names a mirror host: builds take whatever the build
host's apt is configured with, so an offline lab builds from its own mirror."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kickbake.errors import KickbakeError

APT_DIR = Path("/etc/apt")


@dataclass(frozen=True)
class AptSource:
    uri: str
    suite: str
    components: tuple[str, ...]


def _one_line_sources(text: str) -> list[AptSource]:
    found = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) < 3 or words[0] != "deb":
            continue
        words = [w for w in words[1:] if not (w.startswith("[") or w.endswith("]") or "=" in w)]
        if len(words) >= 2:
            found.append(AptSource(words[0].rstrip("/"), words[1], tuple(words[2:])))
    return found


def _deb822_sources(text: str) -> list[AptSource]:
    found = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[0].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                found.append(AptSource(uri.rstrip("/"), suite, tuple(fields.get("components", "").split())))
    return found


def host_apt_sources(apt_dir: Path = APT_DIR) -> list[AptSource]:
    sources: list[AptSource] = []
    main_list = apt_dir / "sources.list"
    if main_list.is_file():
        sources += _one_line_sources(main_list.read_text())
    parts = apt_dir / "sources.list.d"
    for path in sorted(parts.glob("*.list")) if parts.is_dir() else []:
        sources += _one_line_sources(path.read_text())
    for path in sorted(parts.glob("*.sources")) if parts.is_dir() else []:
        sources += _deb822_sources(path.read_text())
    return sources


def host_mirror(suite: str, apt_dir: Path = APT_DIR) -> tuple[str, list[AptSource]]:
    """The mirror URI serving `suite`, and every host source of that mirror for the suite's
    family (bookworm, bookworm-updates, ...; security lives elsewhere and is left out)."""
    sources = [s for s in host_apt_sources(apt_dir) if s.suite == suite or s.suite.startswith(f"{suite}-")]
    main = next((s for s in sources if s.suite == suite), None)
    if main is None:
        raise KickbakeError(
            f"this machine's apt sources have no '{suite}' suite to build from",
            hint=f"add the mirror for {suite} to /etc/apt/sources.list.d/ or build on a host that has it",
        )
    return main.uri, [s for s in sources if s.uri == main.uri]
