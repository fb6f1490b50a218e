"""The inventory reference, generated from the model so it can never drift from it."""

from __future__ import annotations

import json
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from kickbake.errors import BadInput
from kickbake.model.schema import Site
from kickbake.model.types import SYNTAXES, Syntax
from kickbake.paths import PROJECT_ROOT

DOCS_DIR = PROJECT_ROOT / "docs"


def _type_name(annotation: Any) -> str:
    """A readable type: tuple[Node, ...], str | None, dict[str, Role]; Annotated[...] shows its base."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        syntax = next((a for a in args[1:] if isinstance(a, Syntax)), None)
        return syntax.name if syntax else _type_name(args[0])
    if origin in (Union, UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is Literal:
        return " | ".join(json.dumps(getattr(a, "value", a)) for a in args)
    if origin is not None:
        inner = ", ".join("..." if a is Ellipsis else _type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _models(model: type[BaseModel], seen: dict[str, type[BaseModel]]) -> dict[str, type[BaseModel]]:
    if model.__name__ in seen:
        return seen
    seen[model.__name__] = model
    for field in model.model_fields.values():
        for sub in _nested(field.annotation):
            _models(sub, seen)
    return seen


def _nested(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _nested(arg)]


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        made = field.default_factory()  # type: ignore[call-arg]
        return "(defaults)" if isinstance(made, BaseModel) else f"`{json.dumps(made, default=str)}`"
    value = field.default
    value = getattr(value, "value", value)
    return f"`{json.dumps(value, default=str)}`"


def inventory_markdown() -> str:
    lines = [
        "# Site inventory reference",
        "",
        "Generated from `src/kickbake/model/schema.py` by `./kb schema`; a test fails when it is out of date.",
        "Unknown keys are errors. Start from `sites/lab-legacy.yml`.",
        "",
    ]
    for name, model in _models(Site, {}).items():
        lines += [f"## {name}", "", (model.__doc__ or "").strip(), "", "| field | type | default | meaning |",
                  "|---|---|---|---|"]
        for field_name, field in model.model_fields.items():
            kind = _type_name(field.annotation).replace("|", "\\|")
            lines.append(f"| `{field_name}` | `{kind}` | {_default(field)} | {field.description or ''} |")
        lines.append("")
    return "\n".join(lines + _syntax_lines())


def _syntax_lines() -> list[str]:
    lines = [
        "## Value types",
        "",
        "Every string is checked for the syntax of the file it lands in: the whole value must match"
        " (a trailing newline does not), within its length; control characters are refused everywhere.",
        "",
        "| type | is | pattern | at most | hint |",
        "|---|---|---|---|---|",
    ]
    for syntax in SYNTAXES.values():
        pattern, hint = (text.replace("|", "\\|") for text in (syntax.pattern, syntax.hint))
        lines.append(f"| `{syntax.name}` | {syntax.what} | `{pattern}` | {syntax.max_length} | {hint} |")
    return [*lines, ""]


def inventory_schema() -> str:
    return json.dumps(Site.model_json_schema(), indent=2, sort_keys=True) + "\n"


def write_inventory_docs(check: bool = False) -> None:
    outputs = {DOCS_DIR / "inventory.md": inventory_markdown(), DOCS_DIR / "inventory.schema.json": inventory_schema()}
    stale = [p for p, text in outputs.items() if not p.exists() or p.read_text() != text]
    if check:
        if stale:
            raise BadInput(f"out of date: {', '.join(str(p) for p in stale)}", hint="run ./kb schema")
        return
    DOCS_DIR.mkdir(exist_ok=True)
    for path, text in outputs.items():
        path.write_text(text)
