"""kickbake's own fuzzer: seeded mutations of the bundled sites, structural (delete, duplicate,
retype, extreme values, swapped members, another release) and textual (cut, spliced bytes,
injected lines), each rendered in-process. Every case must end in success or a person's error
with exit code 2 that names the inventory (never another exception, i.e. a traceback), leave the
output untouched when it fails, and stay within a time bound.

    .venv/bin/python -m tests.fuzz --seed 7 --count 500     # a longer run than the test's
"""

from __future__ import annotations

import argparse
import copy
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kickbake import commands
from kickbake.errors import KickbakeError

ROOT = Path(__file__).resolve().parents[1]
SITES = [ROOT / "sites" / f"{name}.yml" for name in ("lab-legacy", "lab-el9", "lab-debian")]
EXTREMES: list[Any] = ["", " ", "x" * 5000, -1, 0, 2**63, 3.5, True, None, [], {}, ["a", "b"], {"k": "v"},
                       "../../etc/passwd", "a\nb", "%post", "<x/>", "é", "0" * 64]
RELEASES = ["fedora-15", "fedora-16", "fedora-43", "el9", "el10", "debian-12", "rhel-11", ""]
CASE_SECONDS = 30.0


@dataclass
class Outcome:
    case: str
    ok: bool  # rendered
    error: str = ""  # the message of a person's error
    seconds: float = 0.0


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside the loaded YAML."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*prefix, index))


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def mutate_structure(data: Any, rng: random.Random) -> tuple[Any, str]:
    data = copy.deepcopy(data)
    path = rng.choice([p for p in _paths(data) if p])
    parent, last = _get(data, path[:-1]), path[-1]
    op = rng.choice(["delete", "duplicate", "retype", "extreme", "swap", "release"])
    where = ".".join(map(str, path))
    if op == "delete":
        del parent[last]
    elif op == "duplicate" and isinstance(parent, list):
        parent.insert(last, copy.deepcopy(parent[last]))
    elif op == "swap" and isinstance(parent, list) and len(parent) > 1:
        other = rng.randrange(len(parent))
        parent[last], parent[other] = parent[other], parent[last]
    elif op == "release":
        data["release"] = rng.choice(RELEASES)
        where = "release"
    elif op == "retype":
        value = parent[last]
        parent[last] = [value] if not isinstance(value, list) else (value[0] if value else "")
    else:
        parent[last] = rng.choice(EXTREMES)
    return data, f"{op} {where}"


def mutate_text(text: str, rng: random.Random) -> tuple[bytes, str]:
    data = text.encode()
    op = rng.choice(["cut", "bytes", "line", "indent"])
    at = rng.randrange(len(data))
    if op == "cut":
        return data[:at], f"cut at {at}"
    if op == "bytes":
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
        return data[:at] + junk + data[at:], f"{len(junk)} bytes at {at}"
    lines = text.splitlines(keepends=True)
    index = rng.randrange(len(lines))
    if op == "line":
        lines.insert(index, rng.choice(["%post\n", "- [\n", "key: value\n", "? x\n", "&a *a\n", "\t\n"]))
    else:
        lines[index] = "  " + lines[index]
    return "".join(lines).encode(), f"{op} at line {index + 1}"


def _snapshot(out_root: Path) -> dict[str, str]:
    """What output/ holds: each entry, and where each site's link points."""
    return {p.name: (str(p.readlink()) if p.is_symlink() else "") for p in out_root.iterdir()}


def run_case(site: Path, content: bytes, label: str, work: Path, out_root: Path) -> Outcome:
    """Render one mutated site into an output root that holds good generations of the sites."""
    path = work / site.name
    path.write_bytes(content)
    before = _snapshot(out_root)
    start = time.monotonic()
    try:
        commands.render_site(path, out_root)
    except KickbakeError as error:
        seconds = time.monotonic() - start
        assert error.exit_code == 2, f"{label}: exit {error.exit_code}: {error}"
        assert path.name in str(error) or "--site" in str(error), f"{label}: the error names no file: {error}"
        after = _snapshot(out_root)
        assert after == before, f"{label}: a failed run changed the output ({before} -> {after})"
        return Outcome(label, False, str(error).splitlines()[0], seconds)
    # anything else propagates: a traceback is the bug this fuzzer looks for
    return Outcome(label, True, "", time.monotonic() - start)


def cases(seed: int, count: int) -> Iterator[tuple[Path, bytes, str]]:
    rng = random.Random(seed)
    texts = {site: site.read_text() for site in SITES}
    loaded = {site: yaml.safe_load(text) for site, text in texts.items()}
    for number in range(count):
        site = rng.choice(SITES)
        if rng.random() < 0.7:
            data, what = mutate_structure(loaded[site], rng)
            content = yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()
        else:
            content, what = mutate_text(texts[site], rng)
        yield site, content, f"#{number} {site.stem}: {what}"


def fuzz(seed: int, count: int) -> list[Outcome]:
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="kickbake-fuzz-") as scratch:
        out_root = Path(scratch) / "output"
        for site in SITES:
            commands.render_site(site, out_root)
        for site, content, label in cases(seed, count):
            work = Path(scratch) / "case"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            outcome = run_case(site, content, label, work, out_root)
            assert outcome.seconds < CASE_SECONDS, f"{label}: took {outcome.seconds:.0f}s"
            outcomes.append(outcome)
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    outcomes = fuzz(args.seed, args.count)
    rendered = sum(o.ok for o in outcomes)
    print(f"{len(outcomes)} cases: {rendered} rendered, {len(outcomes) - rendered} refused with a FILE[:LINE] "
          f"error, slowest {max(o.seconds for o in outcomes):.1f}s")


if __name__ == "__main__":
    main()
