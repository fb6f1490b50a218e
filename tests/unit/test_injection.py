"""Injection, as a property: every string of the bundled sites (and of two fenced sites, whose
fence parameters land in cluster.conf and the CIB), mutated with characters that mean something
in the files it lands in, is either refused as bad input naming the inventory (exit 2), or
renders files whose structure is unchanged: the same kickstart commands and % sections, nova.conf
sections and keys, XML elements and attributes, boot-loader lines, DRBD lines, line counts."""

from __future__ import annotations

import configparser
import copy
import shlex
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from kickbake.commands import render_site
from kickbake.errors import BadInput, relpath
from kickbake.model import load_site, plan
from kickbake.model.clusterview import lvm_filters
from kickbake.model.schema import FenceDevice, LogicalVolume
from kickbake.model.types import non_printing
from kickbake.model.yamlsource import load_yaml
from kickbake.render.templating import xml_comment

ROOT = Path(__file__).resolve().parents[2]
SITES = [
    ROOT / "sites" / "lab-legacy.yml",
    ROOT / "sites" / "lab-el9.yml",
    ROOT / "sites" / "lab-debian.yml",
    ROOT / "tests" / "lint" / "cases" / "base-legacy-pass.yml",  # fence params -> cluster.conf
    ROOT / "tests" / "lint" / "cases" / "base-current-pass.yml",  # fence params -> cib.xml
]
PAYLOADS = ["\n", "\r\n%post\n", '"', "'", "%", "[section]\n", "<x/>", "&", ";", "\x00", " extra"]
DATA_KEYS = {"roles", "params", "nodeids"}  # mappings whose keys are inventory data, not field names

Loc = tuple[str | int, ...]


def plain(node: Any) -> Any:
    """The loader's line-numbered mappings and lists as plain ones (for yaml.safe_dump)."""
    if isinstance(node, dict):
        return {key: plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [plain(item) for item in node]
    return node


def spelled_out(data: Any, site: Path) -> Any:
    """The site with the defaults of the fields the audit named written out (the same values), so
    the walk mutates them too: the PXE console and kernel arguments, the fence-peer handler, a
    role's instances_path, packages and services, the LVM filters, the license policy."""
    data = copy.deepcopy(data)
    site_plan = plan(load_site(site))
    if "pxe" in data:
        data["pxe"].update(console="ttyS0,115200", kernel_args=["quiet", "net.ifnames=0"])
    for resource in data.get("drbd", ()):
        resource["fence_peer_handler"] = site_plan.node(resource["members"][0]).release.facts.drbd_fence_peer
    for role in data["roles"].values():
        role.update(packages=["tmux"], services=["chronyd"])
        if role.get("openstack") == "compute" and "openstack" in data:
            role["instances_path"] = data["openstack"]["instances_path"]
    if data.get("drbd"):
        member = data["drbd"][0]["members"][0]
        lvm_filter, global_filter = lvm_filters(site_plan, member)
        data["lvm"] = {"filter": list(lvm_filter), "global_filter": list(global_filter)}
    data["licenses"] = {"deny": ["AGPL-3.0-only"]}
    return data


def strings(node: Any, loc: Loc = ()) -> Iterator[tuple[str, Loc]]:
    """('value', loc) for every string scalar; ('key', loc) for every key of a data mapping."""
    if isinstance(node, dict):
        for key, value in node.items():
            if loc and loc[-1] in DATA_KEYS and isinstance(key, str):
                yield "key", (*loc, key)
            yield from strings(value, (*loc, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from strings(item, (*loc, index))
    elif isinstance(node, str):
        yield "value", loc


def mutated(data: Any, kind: str, loc: Loc, change: Any) -> Any:
    out = copy.deepcopy(data)
    parent = out
    for step in loc[:-1]:
        parent = parent[step]
    last = loc[-1]
    if kind == "value":
        parent[last] = change(parent[last])
    else:  # rename the key, keeping the mapping's order
        items = list(parent.items())
        parent.clear()
        parent.update((change(k) if k == last else k, v) for k, v in items)
    return out


# --- the structure of each kind of rendered file -------------------------------------------------


def kickstart_shape(text: str) -> object:
    sections, commands, inside = [], set(), False
    for line in text.splitlines():
        if line.startswith("%"):
            sections.append(line.split()[0])
            inside = not line.startswith("%end")
        elif not inside and line.strip() and not line.lstrip().startswith("#"):
            try:
                words = shlex.split(line)
            except ValueError as exc:  # an unbalanced quote
                words = [f"UNPARSABLE {exc}"]
            commands.add((words[0], len(words), tuple(sorted(w.split("=")[0] for w in words if w.startswith("--")))))
    return tuple(sections), frozenset(commands)


def ini_shape(text: str) -> object:
    if not any(line.startswith("[") for line in text.splitlines()):  # Diablo's flag file: --key=value
        return tuple(line.split("=", 1)[0] for line in text.splitlines() if line.startswith("--"))
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        return f"UNPARSABLE {exc}"
    return {section: tuple(parser[section]) for section in parser.sections()}


def xml_shape(text: str) -> object:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        return f"UNPARSABLE {exc}"
    return tuple((element.tag, tuple(sorted(element.attrib))) for element in root.iter())


def first_words(text: str) -> object:
    return tuple(line.split()[0] if line.split() else "" for line in text.splitlines())


def drbd_shape(text: str) -> object:
    lines = text.splitlines()
    return first_words(text), tuple((line.count("{"), line.count("}"), line.count('"') % 2) for line in lines)


def shape(relative: Path, text: str) -> object:
    name, parts = relative.name, relative.parts
    if name.endswith(".ks"):
        kind: object = kickstart_shape(text)
    elif name == "nova.conf":
        kind = ini_shape(text)
    elif name in ("cluster.conf", "cib.xml"):
        kind = xml_shape(text)
    elif name.endswith(".res"):
        kind = drbd_shape(text)
    elif parts[0] == "pxe" and parts[1] in ("pxelinux.cfg", "grub", "ipxe"):
        kind = first_words(text)
    else:
        kind = None
    return len(text.splitlines()), kind


def structure(out_root: Path, site: str) -> dict[str, object]:
    root = (out_root / site).resolve()
    shapes = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or relative.parts[0] == "secrets":  # random passwords, tar bundles
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # boot loaders copied from the host
            continue
        shapes[str(relative)] = shape(relative, text)
    return shapes


def render(data: Any, path: Path, out_root: Path) -> tuple[str, dict[str, object]] | BadInput:
    path.write_text(yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False))  # libyaml, as the loader
    try:
        result = render_site(path, out_root)
    except BadInput as refused:
        return refused
    try:
        return result.site, structure(out_root, result.site)
    finally:
        shutil.rmtree(out_root)


@pytest.mark.parametrize("site", SITES, ids=lambda p: p.stem)
def test_injected_strings_are_refused_or_change_no_structure(site: Path, tmp_path: Path) -> None:
    data = spelled_out(plain(load_yaml(site).data), site)
    baseline = render(data, tmp_path / site.name, tmp_path / "baseline")
    assert not isinstance(baseline, BadInput), f"{site.name} itself is refused: {baseline}"
    assert baseline[1], "nothing rendered"
    cases = [(kind, loc, payload, mode) for kind, loc in strings(data) for payload in PAYLOADS
             for mode in ("append", "replace")]
    assert len(cases) > 200, "the walk found too few strings"
    failures, accepted = [], 0
    path = tmp_path / "case" / site.name  # one file, rewritten per case; the output is removed after each
    path.parent.mkdir()
    for kind, loc, payload, mode in cases:
        change = (lambda text, p=payload: text + p) if mode == "append" else (lambda text, p=payload: p)
        outcome = render(mutated(data, kind, loc, change), path, tmp_path / "output")
        what = f"{kind} {'.'.join(map(str, loc))} {mode} {payload!r}"
        if isinstance(outcome, BadInput):
            if not outcome.problems or any(p.file != relpath(path) for p in outcome.problems):
                failures.append(f"{what}: refused without naming the inventory: {outcome}")
            elif any("\n" in str(p) or non_printing(str(p)) for p in outcome.problems):
                failures.append(f"{what}: a refusal is not one printable line: {outcome!r}")
        else:
            accepted += 1
            diff = sorted(n for n in outcome[1].keys() | baseline[1].keys() if outcome[1].get(n) != baseline[1].get(n))
            if outcome[0] != baseline[0] or diff:
                failures.append(f"{what}: accepted, and the structure of {diff[:3]} changed")
    assert not failures, "\n".join(failures[:20])
    assert accepted, "no mutation was accepted: the structure comparison never ran"


def test_the_walk_finds_the_fields_the_audit_named() -> None:
    found = {loc for site in SITES for _, loc in strings(spelled_out(plain(load_yaml(site).data), site))}
    for loc in [("timezone",), ("nodes", 0, "hostname"), ("openstack", "instances_path"), ("pxe", "console"),
                ("pxe", "kernel_args", 0), ("drbd", 0, "fence_peer_handler"), ("roles", "storage", "instances_path"),
                ("volume_groups", 0, "logical_volumes", 0, "name"), ("lvm", "filter", 0), ("ssh_keys", 0)]:
        assert loc in found, loc
    assert any(loc[-2:] == ("params", "username") for loc in found)


def test_structure_notices_an_injected_line(tmp_path: Path) -> None:
    """The comparison is not blind: a %post line pasted into a kickstart changes its shape."""
    text = "text\ntimezone --utc UTC\n%packages\nvim\n%end\n"
    assert kickstart_shape(text) != kickstart_shape(text.replace("UTC", "UTC\n%post\nrm -rf /"))
    assert kickstart_shape(text) != kickstart_shape(text.replace("UTC", 'UTC "'))
    assert xml_shape('<a b="1"/>') != xml_shape('<a b="1" c="2"/>')
    assert ini_shape("[DEFAULT]\na = 1\n") != ini_shape("[DEFAULT]\na = 1\n[x]\nb = 2\n")


@pytest.mark.parametrize("key", ["passwd", "Passwd", "PASSWORD", "pass", "Pass_Wd", "pass-word", "snmp_priv_passwd"])
def test_every_spelling_of_an_inline_password_is_refused(key: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="would put a password in plaintext"):
        FenceDevice(node="node1", agent="fence_ipmilan", params={key: "hunter2"})


def test_fence_keys_kickbake_writes_itself_are_refused_and_a_password_script_is_fine() -> None:
    for key in ("name", "agent", "pcmk_host_list", "ip address", "ip\n"):
        with pytest.raises(pydantic.ValidationError):
            FenceDevice(node="node1", agent="fence_ipmilan", params={key: "x"})
    device = FenceDevice(node="node1", agent="fence_ipmilan", params={"passwd_script": "/usr/local/bin/ipmi-pw"})
    assert device.params == {"passwd_script": "/usr/local/bin/ipmi-pw"}


def test_an_inventory_whose_file_name_has_a_control_character_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lab\n%post.yml"
    shutil.copyfile(SITES[2], path)
    with pytest.raises(BadInput, match="the file name has a control character"):
        render_site(path, tmp_path / "output")


def test_long_values_are_refused_with_their_bound_and_without_the_whole_value() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        LogicalVolume(name="l" * 300, size="8G")
    message = str(caught.value)
    assert "(300 characters) is too long for an LVM name (at most 127 characters)" in message
    assert "l" * 100 not in message


def test_names_in_xml_comments_cannot_end_the_comment() -> None:
    assert xml_comment("sites/a--b.yml") == "sites/a- -b.yml"
    assert "--" not in xml_comment("x---->")
