"""One source for each fact: where two parts of kickbake read or write the same thing, they go
through one function, and these tests fail when a second copy (that could disagree) comes back."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import re
from pathlib import Path

import pytest

from kickbake.hashing import file_digest, sha256_file
from kickbake.lint.openstack import same_instances_path
from kickbake.lint.views import minor
from kickbake.model import load_site, plan
from kickbake.model.catalog import Repo
from kickbake.model.clusterview import drbd_minor, parse_drbd_minor
from kickbake.model.lvmfilter import filter_or_none
from kickbake.model.schema import DrbdResource
from kickbake.render.kickstart import render_kickstart
from kickbake.render.openstack import cloud_view
from kickbake.render.repofiles import rpm_repo_file
from kickbake.validate.lvmconf import filter_problems, parse_lvm_conf
from tests.conftest import SITES

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "kickbake"


def modules_matching(pattern: str) -> list[str]:
    """The kickbake modules whose source matches `pattern` (a regex), relative to src/kickbake."""
    found = re.compile(pattern)
    return sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if found.search(p.read_text()))


FILTER_ENTRIES = ["a|^/dev/drbd.*|", "r|.*|", "a/drbd/", "r#^/dev/vdb$#", "r||", "a//", "x|.*|", "a|unterminated",
                  "a|[|", "aa.*a", "/dev/drbd0", "r|", "ab", ""]


@pytest.mark.parametrize("entry", FILTER_ENTRIES)
def test_the_linter_and_the_lvm_conf_validator_agree_on_every_filter_entry(entry: str) -> None:
    conf = parse_lvm_conf(f'devices {{\n    filter = [ "{entry}" ]\n    global_filter = [ "{entry}" ]\n}}\n')
    problems = filter_problems(conf)
    if filter_or_none(entry) is None:
        assert len(problems) == 2, problems  # one per key
    else:
        assert problems == []


def test_an_empty_regex_is_no_filter_pattern() -> None:
    """lvm.conf(5) writes a pattern as [ar]<sep><regex><sep>; the validator used to pass r|| that
    the linter (LVM006) refused."""
    conf = parse_lvm_conf('devices {\n    filter = [ "r||" ]\n}\n')
    assert filter_problems(conf) == ["devices/filter: 'r||' is not `a|regex|` or `r|regex|`"]
    bad_regex = parse_lvm_conf('devices {\n    filter = [ "a|[|" ]\n}\n')
    assert filter_problems(bad_regex)[0].startswith("devices/filter: 'a|[|': bad regex (")


@pytest.mark.parametrize(("device", "expected"), [
    ("/dev/drbd0", 0), ("/dev/drbd12", 12), ("/dev/drbd007", 7), ("/dev/drbd", None), ("/dev/drbd1a", None),
    ("/dev/drbd-1", None), ("/dev/drbd/by-res/r0", None), ("/dev/vdb", None), ("/dev/drbd0\n", None),
])
def test_the_renderer_and_the_linter_read_one_drbd_minor(device: str, expected: int | None) -> None:
    assert parse_drbd_minor(device) == expected
    resource = DrbdResource.model_construct(device=device)  # type: ignore[call-arg]  # only device matters here
    assert minor(resource) == expected
    if expected is None:
        with pytest.raises(ValueError, match="is not /dev/drbdN"):
            drbd_minor(device)
    else:
        assert drbd_minor(device) == expected


def test_only_the_cluster_view_parses_drbd_device_names() -> None:
    """model/references.py still checks the form itself (the same rule, for its error message);
    it is being hardened in another change and moves to parse_drbd_minor after it."""
    parsers = modules_matching(r'drbd\(\?P<|removeprefix\("/dev/drbd"\)|len\("/dev/drbd"\)')
    assert parsers == ["model/clusterview.py", "model/references.py"]


def file_hashing_functions() -> list[str]:
    """module:function for every function that calls hashlib and reads a file as bytes."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                body = ast.get_source_segment(text, node) or ""
                if "hashlib." in body and ('"rb"' in body or ".read_bytes()" in body):
                    found.append(f"{path.relative_to(SRC)}:{node.name}")
    return found


def test_files_are_hashed_in_one_place() -> None:
    assert file_hashing_functions() == [
        "build/identity.py:_tree_sha256",  # hashes symlink targets too (element trees)
        "firstboot/agent.py:bundle_hash",  # runs on the node, where kickbake is not installed
        "hashing.py:file_digest",
    ]


def test_the_file_digest_is_the_plain_sha256_of_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"x" * (3 << 20) + b"tail")  # more than one read block
    assert sha256_file(path) == file_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert file_digest(path, "sha512") == hashlib.sha512(path.read_bytes()).hexdigest()


def heredocs(text: str, target: str) -> dict[str, str]:
    """file -> body of every `cat > <target>/<file> <<'KICKBAKE_EOF'` in a kickstart."""
    found = re.findall(rf"^cat > {re.escape(target)}/(\S+) <<'KICKBAKE_EOF'\n(.*?)^KICKBAKE_EOF$", text, re.M | re.S)
    return dict(found)


def test_kickstarts_and_images_write_the_same_repo_files() -> None:
    """A kickstart's %post carries the text of render/repofiles.py, the writer of the image's
    kickbake.repo, for every kind of repo: mirrorlist, gpgcheck off, disabled."""
    site_plan = plan(load_site(SITES / "lab-el9.yml"))
    node = site_plan.node("drbd-node1")
    odd = (Repo(name="by-mirrorlist", kind="rpm", mirrorlist="https://mirrors.example/list", gpgcheck=False),
           Repo(name="switched-off", kind="rpm", description="Off until wanted", baseurl="https://repo.example/",
                enabled=False, gpgkey="https://repo.example/key"))
    node = dataclasses.replace(node, repos=(*node.repos, *odd))
    written = heredocs(render_kickstart(site_plan, node, "0" * 64), "/etc/yum.repos.d")
    assert list(written) == [f"kickbake-{r.name}.repo" for r in node.repos]
    assert "".join(written.values()) == "".join(rpm_repo_file([r]) for r in node.repos)
    assert "\n".join(written.values()) == rpm_repo_file(node.repos)  # the image's one file, section by section
    assert "enabled=0\ngpgcheck=1\ngpgkey=https://repo.example/key\n" in written["kickbake-switched-off.repo"]


def test_only_the_repo_file_writer_spells_a_repo_section() -> None:
    writers = [str(p.relative_to(ROOT)) for p in (*SRC.rglob("*.py"), *(ROOT / "kickstarts").rglob("*.j2"))
               if re.search(r"(?m)(^|[\"'])(gpgcheck|mirrorlist)=", p.read_text())]
    assert writers == ["src/kickbake/render/repofiles.py"]


class NoSecrets:
    def password(self, name: str) -> str:
        return f"not-a-secret-{name}"


def lab_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (SITES / "lab-el9.yml").read_text()
    assert old in text
    path = tmp_path / "lab.yml"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("", "", "/var/lib/nova/instances"),  # openstack.instances_path as the lab writes it
    ("  storage:\n    openstack: compute\n", "  storage:\n    openstack: compute\n    instances_path: /srv/nova\n",
     "/srv/nova"),  # the role's own
    ("openstack:\n  instances_path: /var/lib/nova/instances\n", "", "/var/lib/nova/instances"),  # no section
    ("  instances_path: /var/lib/nova/instances\n", "  instances_path: /data/nova\n", "/data/nova"),
])
def test_nova_conf_and_the_linter_resolve_one_instances_path(tmp_path: Path, old: str, new: str,
                                                               expected: str) -> None:
    site_plan = plan(load_site(lab_with(tmp_path, old, new)))
    node = site_plan.node("drbd-node1")
    assert site_plan.instances_path(node.node.roles) == expected
    assert cloud_view(site_plan, node, NoSecrets()).instances_path == expected  # type: ignore[arg-type]


def test_the_linter_compares_the_paths_nova_conf_gets(tmp_path: Path) -> None:
    text = (SITES / "lab-el9.yml").read_text()
    text = text.replace("  storage:\n    openstack: compute\n",
                        "  storage:\n    openstack: compute\n  storage-b:\n    openstack: compute\n"
                        "    instances_path: /srv/b\n")
    node2 = "  - hostname: drbd-node2\n    roles: [storage]\n"
    text = text.replace(node2, node2.replace("[storage]", "[storage-b]"))
    (tmp_path / "lab.yml").write_text(text)
    site_plan = plan(load_site(tmp_path / "lab.yml"))
    paths = {n: cloud_view(site_plan, site_plan.node(n), NoSecrets()).instances_path  # type: ignore[arg-type]
             for n in ("drbd-node1", "drbd-node2")}
    assert paths == {"drbd-node1": "/var/lib/nova/instances", "drbd-node2": "/srv/b"}
    [(_, message, _)] = list(same_instances_path.check(site_plan))
    assert message.startswith("computes of role storage-b keep instances in /srv/b, those of storage in "
                              "/var/lib/nova/instances")


def test_only_the_plan_resolves_instances_path() -> None:
    assert modules_matching(r"instances_path or\b|\bfor role in .*roles:\n\s+own = ") == ["model/plan.py"]
    assert modules_matching(r'"/var/lib/nova/instances"') == ["model/schema.py"]
