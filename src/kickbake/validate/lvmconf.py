"""lvm.conf: lvm2 2.03's own `lvmconfig --validate` for the lvmlockd (current) file, and a small
parser of kickbake's own for the clvmd (legacy, lvm2 2.02) file.

lvm2 2.03 no longer knows clvmd: `lvmconfig --validate` passes a `locking_type = 3` file with
rc 0 and only warns `locking_type (3) is deprecated, using file locking`. So for the legacy file
the rc proves nothing; kickbake checks the syntax and the clvmd settings itself and reports that
the host's lvm2 ignores locking_type 3 (it looks for the warning)."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kickbake.model.lvmfilter import NotAFilter, parse_filter
from kickbake.run import run

Value = int | float | str | list[int | float | str]
_TOKEN = re.compile(
    r'\s*(?:(?P<comment>#[^\n]*)|(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?[0-9]+(?:\.[0-9]+)?)'
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[{}\[\]=,]))"
)
# what kickbake writes for lvm2 2.02 + clvmd; anything else in a legacy file is a typo
LEGACY_KEYS = {
    "devices": {
        "filter",
        "global_filter",
        "write_cache_state",
        "cache_dir",
        "obtain_device_list_from_udev",
    },
    "global": {
        "locking_type",
        "fallback_to_local_locking",
        "use_lvmetad",
        "locking_dir",
        "use_lvmlockd",
    },
    "activation": {"volume_list", "auto_activation_volume_list"},
}
DEPRECATED_WARNING = "locking_type (3) is deprecated"


class LvmSyntaxError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass
class LvmConfig:
    sections: dict[str, dict[str, Value]]
    lines: dict[tuple[str, str], int]  # (section, key) -> line, for messages


def _tokens(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos, line = 0, 1
    while True:
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            rest = text[pos:]
            if rest.strip():
                line += rest[: len(rest) - len(rest.lstrip())].count("\n")
                raise LvmSyntaxError(line, f"unexpected {rest.split()[0]!r}")
            return tokens
        kind = match.lastgroup
        line += text[pos : match.start(kind)].count("\n")
        if kind != "comment":
            tokens.append((kind, match.group(kind), line))
        pos = match.end()


def _value(tokens: list[tuple[str, str, int]], i: int) -> tuple[Value, int]:
    kind, text, line = tokens[i]
    if kind == "string":
        return text[1:-1], i + 1
    if kind == "number":
        return (float(text) if "." in text else int(text)), i + 1
    if text != "[":
        raise LvmSyntaxError(line, f"expected a value, got {text!r}")
    items: list[int | float | str] = []
    i += 1
    while tokens[i][1] != "]":
        item, i = _value(tokens, i)
        if isinstance(item, list):
            raise LvmSyntaxError(line, "nested lists are not allowed")
        items.append(item)
        if tokens[i][1] == ",":
            i += 1
    return items, i + 1


def parse_lvm_conf(text: str) -> LvmConfig:
    """Parse what lvm.conf files use: `section { key = value }`; strings, numbers, lists."""
    tokens = _tokens(text) + [("end", "", 0)]
    config = LvmConfig({}, {})
    i = 0
    try:
        while tokens[i][0] != "end":
            kind, name, line = tokens[i]
            if kind != "name" or tokens[i + 1][1] != "{":
                raise LvmSyntaxError(line, f"expected `section {{`, got {name!r}")
            section = config.sections.setdefault(name, {})
            i += 2
            while tokens[i][1] != "}":
                kind, key, line = tokens[i]
                if kind != "name" or tokens[i + 1][1] != "=":
                    raise LvmSyntaxError(line, f"expected `key = value` in {name}, got {key!r}")
                section[key], i = _value(tokens, i + 2)
                config.lines[(name, key)] = line
            i += 1
    except IndexError:
        raise LvmSyntaxError(tokens[-2][2] if len(tokens) > 1 else 1, "unexpected end of file") from None
    return config


def filter_problems(config: LvmConfig) -> list[str]:
    problems = []
    for key in ("filter", "global_filter"):
        patterns = config.sections.get("devices", {}).get(key, [])
        if not isinstance(patterns, list):
            problems.append(f"devices/{key} must be a list of strings")
            continue
        for pattern in patterns:
            text = str(pattern)
            try:
                parse_filter(text)
            except NotAFilter as bad:
                problems.append(f"devices/{key}: {text!r}: bad regex ({bad.regex_error})" if bad.regex_error
                                else f"devices/{key}: {text!r} is not `a|regex|` or `r|regex|`")
    return problems


def legacy_problems(config: LvmConfig) -> list[str]:
    """What lvm2 2.02 + clvmd needs (lvmconf --enable-cluster; lvm.conf(5) of 2.02)."""
    problems = [
        f"line {config.lines[(s, k)]}: unknown setting {s}/{k} for lvm2 2.02"
        for s, keys in config.sections.items()
        for k in keys
        if k not in LEGACY_KEYS.get(s, set())
    ]
    problems.extend(f"unknown section {s!r}" for s in config.sections if s not in LEGACY_KEYS)
    glob = config.sections.get("global", {})
    if glob.get("locking_type") != 3:
        problems.append("global/locking_type must be 3 (clvmd) for a clustered VG")
    if glob.get("use_lvmetad", 1) != 0:
        problems.append("global/use_lvmetad must be 0: lvmetad is incompatible with clvmd")
    if glob.get("use_lvmlockd", 0) == 1:
        problems.append("global/use_lvmlockd = 1 and locking_type = 3 exclude each other")
    return problems + filter_problems(config)


def _lvmconfig(lvm_conf: Path) -> tuple[int, str]:
    with tempfile.TemporaryDirectory(prefix="kickbake-lvm-") as tmp:
        shutil.copyfile(lvm_conf, Path(tmp) / "lvm.conf")
        env = {"LVM_SYSTEM_DIR": tmp, "LVM_SUPPRESS_FD_WARNINGS": "1"}
        proc = run(["lvmconfig", "--validate"], env=env, check=False, timeout=60)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def check_lvm_current(lvm_conf: Path) -> tuple[bool, str]:
    code, said = _lvmconfig(lvm_conf)
    problems = filter_problems(parse_lvm_conf(lvm_conf.read_text()))
    if code != 0 or "WARNING" in said or problems:
        return False, "; ".join([said, *problems]).strip("; ")
    return True, f"lvmconfig --validate: {said}"


def check_lvm_legacy(lvm_conf: Path, host_lvmconfig: bool) -> tuple[bool, str]:
    try:
        problems = legacy_problems(parse_lvm_conf(lvm_conf.read_text()))
    except LvmSyntaxError as error:
        return False, f"lvm.conf {error}"
    if problems:
        return False, "; ".join(problems)
    detail = "kickbake's lvm2 2.02 parser: clvmd settings valid"
    if host_lvmconfig:
        _, said = _lvmconfig(lvm_conf)
        seen = "warns" if DEPRECATED_WARNING in said else "did NOT warn"
        detail += f"; host lvm2 2.03 ignores locking_type 3 (lvmconfig {seen} '{DEPRECATED_WARNING}')"
    return True, detail
