"""Load a site inventory: parse with line numbers, validate the schema, then check references.

Every problem found is collected and reported together as `FILE:LINE: field: message (hint)`."""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kickbake.errors import BadInput, Problem
from kickbake.model.catalog import Release, Repo, load_releases, load_repos
from kickbake.model.messages import plain
from kickbake.model.references import check_references
from kickbake.model.schema import Site
from kickbake.model.yamlsource import YamlSource, load_yaml


@dataclass(frozen=True)
class Inventory:
    """A validated site with the catalogues it refers to and the source it came from."""

    site: Site
    source: YamlSource
    releases: dict[str, Release]
    repos: dict[str, Repo]

    def problem(self, loc: tuple[str | int, ...], message: str, hint: str = "") -> Problem:
        return self.source.problem(loc, message, hint)


def _schema_problem(source: YamlSource, error: Any) -> Problem:
    loc = tuple(error["loc"])
    if loc and loc[-1] == "[key]":  # a mapping's key, e.g. params.Passwd: the key's own line and name
        loc = loc[:-1]
    kind = error["type"]
    if kind == "extra_forbidden":
        message = "unknown field"
        parent = _fields_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), parent, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known fields: {', '.join(sorted(parent))}"
    else:
        message, hint = plain(error, _fields_at(loc))
    return source.problem(loc, message, hint)


def _fields_at(loc: tuple[str | int, ...]) -> list[str]:
    """Field names of the model that sits at `loc`, for 'did you mean' hints."""
    model: Any = Site
    for step in loc:
        if isinstance(step, int) or model is None:
            continue
        field = model.model_fields.get(step)
        if field is None:  # a key of a dict such as roles: {controller: ...}
            continue
        model = _model_of(field.annotation)
    return list(model.model_fields) if model is not None else []


def _model_of(annotation: Any) -> Any:
    from typing import get_args

    if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def load_site(path: str | Path) -> Inventory:
    """Load and validate one site inventory; raise BadInput listing every problem."""
    source = load_yaml(Path(path))
    try:
        site = Site.model_validate(source.data)
    except ValidationError as exc:
        raise BadInput([_schema_problem(source, e) for e in exc.errors()]) from exc
    inventory = Inventory(site=site, source=source, releases=load_releases(), repos=load_repos())
    problems = check_references(inventory)
    if problems:
        raise BadInput(problems)
    _warn_insecure(inventory)
    return inventory


def _warn_insecure(inventory: Inventory) -> None:
    """`insecure: true` is an accepted risk, not a silent one: say so on every run."""
    if not inventory.site.insecure:
        return
    unchecked = sorted(n for n in inventory.site.repos if n in inventory.repos and not inventory.repos[n].gpgcheck)
    what = f"repos without gpgcheck: {', '.join(unchecked)}" if unchecked else "no repo needs it today"
    where = inventory.problem(("insecure",), f"packages may be installed unsigned ({what})")
    sys.stderr.write(f"warning: {where}\n")
