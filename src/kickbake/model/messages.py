"""Schema errors in words a person acts on: pydantic's error types turned into `what is wrong`
and `what to write` (the hint), so no raw 'Input should be ...' text reaches the user. Every
error type the inventory's fields can raise has an entry; an unknown one still gets a hint that
points at the field's reference."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kickbake.model.types import shown

Fields = Callable[[tuple[str | int, ...]], list[str]]


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return shown(str(value))


def _choices(expected: str) -> str:
    """pydantic's "'A', 'B' or 'C'" as "A, B or C"."""
    return expected.replace("'", "")


def _number(error: dict[str, Any], ctx: dict[str, Any]) -> tuple[str, str] | None:
    kind, value = error["type"], error.get("input")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{_kind(value)} is not a whole number", "write a whole number, e.g. 2"
    bounds = {"greater_than": ("gt", "greater than {}"), "greater_than_equal": ("ge", "at least {}"),
              "less_than": ("lt", "less than {}"), "less_than_equal": ("le", "at most {}")}
    if kind in bounds:
        key, text = bounds[kind]
        wanted = text.format(ctx.get(key))
        return f"{_kind(value)} is out of range: it must be {wanted}", f"write a number {wanted}"
    return None


def _shape(error: dict[str, Any], ctx: dict[str, Any], fields: list[str]) -> tuple[str, str] | None:
    kind, value = error["type"], error.get("input")
    if kind in ("model_type", "model_attributes_type"):
        keys = ", ".join(sorted(fields)) or "see docs/inventory.md"
        return f"expected a mapping, got {_kind(value)}", f"write a YAML mapping with keys such as: {keys}"
    if kind == "dict_type":
        return f"expected a mapping, got {_kind(value)}", "write a YAML mapping (key: value on each line)"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {_kind(value)}", "write a YAML list, e.g. [a, b] or one '- item' per line"
    if kind == "string_type":
        return f"expected text, got {_kind(value)}", "write one value (quote it if YAML reads it as something else)"
    if kind == "too_short":
        return (f"needs at least {ctx.get('min_length')} entries, has {ctx.get('actual_length')}",
                "add at least one entry")
    if kind == "too_long":
        return f"has more than {ctx.get('max_length')} entries", f"keep at most {ctx.get('max_length')}"
    return None


def plain(error: dict[str, Any], fields: list[str]) -> tuple[str, str]:
    """(message, hint) for one pydantic error; `fields` are the keys of the model at its place."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "kickbake":  # our own validators (types.invalid): already for people
        return error["msg"], ctx.get("hint", "") or "see docs/inventory.md"
    if kind in ("enum", "literal_error"):
        choices = _choices(str(ctx.get("expected", "")))
        return f"{_kind(value)} is not one of {choices}", f"write one of: {choices}"
    if kind in ("bool_parsing", "bool_type"):
        return f"{_kind(value)} is not true or false", "write true or false"
    if kind in ("ip_v4_address", "ip_any_address"):
        return f"{_kind(value)} is not an IPv4 address", "write a dotted quad such as 10.0.0.1"
    if kind in ("ip_v4_network", "ip_any_network"):
        return (f"{_kind(value)} is not an IPv4 network",
                "write the network address with a prefix, e.g. 10.0.0.0/24, host bits zero")
    if kind == "missing":
        return "required field is missing", "add it; docs/inventory.md describes it"
    found = _number(error, ctx) or _shape(error, ctx, fields)
    if found is not None:
        return found
    if kind.startswith("string_pattern"):
        return f"{_kind(value)} is not allowed here", "see the field's syntax in docs/inventory.md"
    return str(error["msg"]), "see the field in docs/inventory.md"
