"""Every schema-stage message is for people: each bundled site's values, one at a time, replaced by
values of the wrong type or range (tests/fuzz.py's extremes) give problems that each carry a
hint and none of pydantic's own wording ('Input should be ...', 'Value error')."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from pydantic import ValidationError

from kickbake.model.load import _schema_problem
from kickbake.model.schema import Site
from kickbake.model.yamlsource import load_yaml
from tests.fuzz import EXTREMES, SITES, _get, _paths

RAW = ("Input should", "Value error", "validation error", "[type=", "does not match")


def _problems(site: Path) -> list[str]:
    source = load_yaml(site)
    found = []
    for path in list(_paths(source.data))[1:]:
        for value in EXTREMES:
            data = copy.deepcopy(source.data)
            _get(data, path[:-1])[path[-1]] = copy.deepcopy(value)
            try:
                Site.model_validate(data)
            except ValidationError as error:
                found += [str(_schema_problem(source, e)) for e in error.errors()]
    return found


@pytest.mark.parametrize("site", SITES, ids=lambda p: p.stem)
def test_every_schema_problem_has_a_hint_and_no_raw_text(site: Path) -> None:
    problems = _problems(site)
    assert len(problems) > 1000  # the mutations do reach the schema
    assert [p for p in problems if not p.endswith(")") or "(hint: " not in p] == []
    assert [p for p in problems if any(raw in p for raw in RAW)] == []


@pytest.mark.parametrize(("field", "value", "expected"), [
    (("drbd", 0, "protocol"), "D", "drbd[0].protocol: 'D' is not one of A, B or C (hint: write one of: A, B or C)"),
    (("drbd", 0, "port"), 0, "drbd[0].port: the number 0 is out of range: it must be at least 1 "
                             "(hint: write a number at least 1)"),
    (("networks", 0), "mgmt", "networks[0]: expected a mapping, got 'mgmt' (hint: write a YAML mapping with "
                              "keys such as: cidr, dns, gateway, name, purpose)"),
    (("clusters", 0, "stack"), True, "clusters[0].stack: true (a boolean) is not one of legacy or current "
                                     "(hint: write one of: legacy or current)"),
])
def test_schema_messages_say_what_to_write(field: tuple[str | int, ...], value: object, expected: str) -> None:
    source = load_yaml(SITES[0])
    data = copy.deepcopy(source.data)
    _get(data, field[:-1])[field[-1]] = value
    with pytest.raises(ValidationError) as caught:
        Site.model_validate(data)
    shown = [str(_schema_problem(source, e)).split(": ", 1)[1] for e in caught.value.errors()]
    assert expected in shown
