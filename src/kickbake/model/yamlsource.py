"""YAML with line numbers: load a file, and find the line of any dotted path in it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from kickbake.errors import BadInput, Problem, relpath

Loc = Sequence[str | int]


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
            if isinstance(node, CommentedMap) and step in node:
                line = node.lc.key(step)[0] + 1
                node = node[step]
            elif isinstance(node, CommentedSeq) and isinstance(step, int) and 0 <= step < len(node):
                line = node.lc.item(step)[0] + 1
                node = node[step]
            else:
                break
        return line

    def problem(self, loc: Loc, message: str, hint: str = "") -> Problem:
        return Problem(self.name, self.line_of(loc), dotted(loc), message, hint)


def dotted(loc: Loc) -> str:
    """('nodes', 1, 'interfaces', 0, 'mac') -> 'nodes[1].interfaces[0].mac'."""
    out = ""
    for step in loc:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def load_yaml(path: Path) -> YamlSource:
    """Parse one YAML file; a syntax error becomes a BadInput with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise BadInput(Problem(relpath(path), 0, "", "no such file", "check the path")) from exc
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        message = f"YAML syntax: {exc.problem or exc.context}"
        raise BadInput(Problem(relpath(path), line, "", message, "fix the indentation or quoting there")) from exc
    if not isinstance(data, CommentedMap):
        raise BadInput(Problem(relpath(path), 1, "", "the file must hold a mapping of fields", ""))
    return YamlSource(path=path, data=data)
