"""Package repository files: the one writer of a yum/dnf `.repo` section and of a deb822
`.sources` file. Baked images get them from the build payload (build/payload.py), kickstart
installs from their %post (kickstarts/snippets/post.ks.j2); both carry the text written here."""

from __future__ import annotations

from collections.abc import Iterable

from kickbake.model.catalog import Repo


def rpm_repo_file(repos: Iterable[Repo]) -> str:
    sections = []
    for repo in repos:
        lines = [f"[{repo.name}]", f"name={repo.description or repo.name}"]
        lines.append(f"baseurl={repo.baseurl}" if repo.baseurl else f"mirrorlist={repo.mirrorlist}")
        lines += [f"enabled={int(repo.enabled)}", f"gpgcheck={int(repo.gpgcheck)}"]
        if repo.gpgkey:
            lines.append(f"gpgkey={repo.gpgkey}")
        sections.append("\n".join(lines) + "\n")
    return "\n".join(sections)


def yum_repo_files(repos: Iterable[Repo]) -> tuple[tuple[str, str], ...]:
    """(file name under /etc/yum.repos.d, its text without the last newline) per rpm repo: what
    a kickstart's %post writes, one file per repo."""
    return tuple((f"kickbake-{r.name}.repo", rpm_repo_file([r]).removesuffix("\n")) for r in repos if r.kind == "rpm")


def deb_sources_file(repo: Repo) -> str:
    lines = ["Types: deb", f"URIs: {repo.baseurl}", f"Suites: {repo.suite}",
             f"Components: {' '.join(repo.components or ('main',))}", f"Enabled: {'yes' if repo.enabled else 'no'}"]
    if repo.gpgkey:
        lines.append(f"Signed-By: {repo.gpgkey}")
    return "\n".join(lines) + "\n"
