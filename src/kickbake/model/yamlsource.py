"""YAML with line numbers: load a file, and find the line of any dotted path in it.

libyaml (PyYAML's C parser) does the parsing, ten times faster than a pure-Python round-trip
loader on a 1,000-node site; the constructor below keeps each key's and item's line. The
resolver is YAML 1.2-like on purpose: `52:54:00:00:01:10` stays a string (YAML 1.1 would read a
base-60 integer) and `on`/`off`/`yes`/`no` stay strings; only true/false are booleans.
Duplicate keys are errors, not silent overwrites."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.cyaml import CParser  # type: ignore[attr-defined]

from kickbake.bounded import INVENTORY_LIMIT, read_text_bounded
from kickbake.errors import BadInput, Problem, relpath
from kickbake.model.types import non_printing

Loc = Sequence[str | int]


class LineDict(dict[Any, Any]):
    """A mapping that remembers the 1-based line of each key."""

    key_lines: dict[Any, int]
    line: int


class LineList(list[Any]):
    """A sequence that remembers the 1-based line of each item."""

    item_lines: list[int]
    line: int


class _Resolver(yaml.resolver.BaseResolver):
    pass


_IMPLICIT = [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?0|[-+]?[1-9][0-9]*|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
]
for _tag, _pattern, _first in _IMPLICIT:
    _Resolver.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


class _Constructor(yaml.constructor.SafeConstructor):
    def construct_line_mapping(self, node: yaml.MappingNode) -> Iterator[LineDict]:
        mapping = LineDict()
        mapping.key_lines = {}
        mapping.line = node.start_mark.line + 1
        yield mapping
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in mapping.key_lines:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {mapping.key_lines[key]})", key_node.start_mark
                )
            mapping.key_lines[key] = key_node.start_mark.line + 1
            mapping[key] = self.construct_object(value_node, deep=True)

    def construct_line_sequence(self, node: yaml.SequenceNode) -> Iterator[LineList]:
        sequence = LineList()
        sequence.line = node.start_mark.line + 1
        sequence.item_lines = [child.start_mark.line + 1 for child in node.value]
        yield sequence
        sequence.extend(self.construct_object(child, deep=True) for child in node.value)


_Constructor.add_constructor("tag:yaml.org,2002:map", _Constructor.construct_line_mapping)  # type: ignore[type-var]
_Constructor.add_constructor("tag:yaml.org,2002:seq", _Constructor.construct_line_sequence)  # type: ignore[type-var]


class _Loader(CParser, _Constructor, _Resolver):
    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        _Constructor.__init__(self)
        _Resolver.__init__(self)


@dataclass(frozen=True)
class YamlSource:
    """A parsed YAML document and where it came from."""

    path: Path
    data: Any

    @property
    def name(self) -> str:
        return relpath(self.path)

    def line_of(self, loc: Loc) -> int:
        """1-based line of the deepest node of `loc` that exists in the document."""
        node = self.data
        line = 1
        for step in loc:
            if isinstance(node, LineDict) and step in node:
                line, node = node.key_lines[step], node[step]
            elif isinstance(node, LineList) and isinstance(step, int) and 0 <= step < len(node):
                line, node = node.item_lines[step], node[step]
            else:
                break
        return line

    def problem(self, loc: Loc, message: str, hint: str = "") -> Problem:
        return Problem(self.name, self.line_of(loc), dotted(loc), message, hint)


def dotted(loc: Loc) -> str:
    """('nodes', 1, 'interfaces', 0, 'mac') -> 'nodes[1].interfaces[0].mac'; a key that is not
    printable is quoted ('roles["a\\n"]'), so a problem stays one line."""
    out = ""
    for step in loc:
        if isinstance(step, int):
            out += f"[{step}]"
        elif not str(step) or non_printing(str(step)) is not None:
            out += f"[{str(step)!r}]"
        else:
            out += f".{step}" if out else str(step)
    return out


MAX_ALIASES = 16  # anchors for a few repeated blocks are fine; thousands are a billion-laughs bomb


def _refuse_constructs(text: str, name: str) -> None:
    """No explicit tags (the model means plain YAML only), no list or map as a key, few aliases,
    before constructing."""
    aliases = 0
    open_nodes: list[list[bool]] = []  # per open collection: [is a mapping, expecting a key]
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            line = event.start_mark.line + 1 if event.start_mark else 0
            if isinstance(event, yaml.CollectionStartEvent) and open_nodes and all(open_nodes[-1]):
                raise BadInput(Problem(name, line, "", "a list or mapping used as a key",
                                       "keys are plain names: write `name: value`"))
            if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionEndEvent)):
                if isinstance(event, yaml.CollectionEndEvent):
                    open_nodes.pop()
                if open_nodes and open_nodes[-1][0]:
                    open_nodes[-1][1] = not open_nodes[-1][1]  # a key was read: a value comes, and back
            elif isinstance(event, yaml.CollectionStartEvent):
                open_nodes.append([isinstance(event, yaml.MappingStartEvent), True])
            tag = getattr(event, "tag", None)  # None unless the text names one: !!python/..., !foo
            if tag is not None:
                raise BadInput(Problem(name, line, "", f"YAML tag {tag} is not allowed",
                                       "remove the tag: write plain values"))
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise BadInput(Problem(name, line, "", f"more than {MAX_ALIASES} YAML aliases",
                                           "write the values out"))
    except yaml.MarkedYAMLError:
        return  # the loader below reports syntax errors with their line


def load_yaml(path: Path) -> YamlSource:
    """Parse one YAML file; a syntax error becomes a BadInput with its line."""
    if non_printing(relpath(path)) is not None:  # the name goes into every generated file's header
        raise BadInput(Problem(repr(relpath(path)), 0, "", "the file name has a control character",
                               "rename the file: its name is copied into the header of every generated file"))
    text = read_text_bounded(path, INVENTORY_LIMIT, relpath(path))
    _refuse_constructs(text, relpath(path))
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        if isinstance(exc, yaml.constructor.ConstructorError):
            what, hint = "YAML", "keep one of the two"
        else:
            what, hint = "YAML syntax", "fix the indentation or quoting there"
        raise BadInput(Problem(relpath(path), line, "", f"{what}: {exc.problem or exc.context}", hint)) from exc
    finally:
        loader.dispose()
    if not isinstance(data, LineDict):
        raise BadInput(Problem(relpath(path), 1, "", "the file must hold a mapping of fields", ""))
    return YamlSource(path=path, data=data)
