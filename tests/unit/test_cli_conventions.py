"""The user program's conventions (issue 17 item 2): only its own flags, short flags with one
meaning, help that tells the truth, did-you-mean, --version, completion, exit codes, JSON errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kickbake import __version__
from tests.conftest import ROOT, kb


def task_help(name: str) -> str:
    proc = kb(name, "--help")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("args", [("-R", "render"), ("render", "-R"), ("render", "--echo"), ("-c", "tasks", "render"),
                                  ("render", "--warn-only"), ("render", "--pty")])
def test_invoke_runner_flags_are_refused_and_nothing_runs(tmp_path: Path, args: tuple[str, ...]) -> None:
    proc = kb(*args, out=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"no option {args[0] if args[0].startswith('-') else args[1]}" in proc.stderr
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_a_typo_of_a_task_or_an_option_says_what_was_meant(tmp_path: Path) -> None:
    task = kb("rendr", out=tmp_path)
    assert (task.returncode, task.stderr.strip()) == (2, "kickbake: no task 'rendr' (did you mean render?)")
    flag = kb("validate", "--sit", "sites/lab-el9.yml", out=tmp_path)
    assert (flag.returncode, flag.stderr.strip()) == (2, "kickbake: no option --sit for validate "
                                                         "(did you mean --site?)")
    # a task still waiting for its positional argument does not swallow the typo (nor --help)
    diff = kb("diff", "--jsn", out=tmp_path)
    assert (diff.returncode, diff.stderr.strip()) == (2, "kickbake: no option --jsn for diff (did you mean --json?)")
    assert kb("diff", "--help").stdout.startswith("Usage: kickbake diff [--options] A B")


def test_a_missing_required_site_is_a_usage_error_naming_it() -> None:
    proc = kb("plan")
    assert (proc.returncode, proc.stderr.strip()) == (2, "kickbake: plan needs --site (kickbake plan --help)")


def test_usage_and_input_errors_are_json_under_json(tmp_path: Path) -> None:
    usage = kb("rendr", "--json", out=tmp_path)
    assert usage.returncode == 2 and usage.stderr == ""
    payload = json.loads(usage.stdout)
    assert payload["schema_version"] == 1
    assert payload["error"] == {"message": "no task 'rendr'", "hint": "did you mean render?", "exit_code": 2,
                                "problems": []}
    bad = kb("validate", "--site", "tests/bad/bad-mac.yml", "-j", out=tmp_path)
    assert bad.returncode == 2
    error = json.loads(bad.stdout)["error"]
    assert error["exit_code"] == 2
    assert error["problems"] == [{"file": "tests/bad/bad-mac.yml", "line": 26, "field": "nodes[1].interfaces[0].mac",
                                  "message": "'52:54:00:zz:00:02' is not a MAC address",
                                  "hint": "write six hex pairs: aa:bb:cc:dd:ee:ff"}]


def test_every_short_flag_means_one_thing_across_tasks() -> None:
    from kickbake.cli import SHORT_FLAGS, _tasks_collection

    meanings: dict[str, set[str]] = {}
    for context in _tasks_collection().to_contexts(ignore_unknown_help=True):
        for arg in context.args.values():
            for short in (n for n in arg.names if len(n) == 1 and len(arg.name) > 1):
                meanings.setdefault(short, set()).add(arg.name)
    assert meanings == {short: {name} for name, short in SHORT_FLAGS.items()}
    for name in ("build", "rules", "render"):  # -d was --debug, --dry-run or --doc, by task
        assert not re.search(r"(^|\s)-d[ ,]", task_help(name), re.M), name


def test_site_help_says_what_the_task_does_without_one() -> None:
    for name in ("render", "pxe", "validate"):
        assert "default: every sites/*.yml of the project" in " ".join(task_help(name).split())
    for name in ("build", "plan", "lock", "licenses", "mirror", "record", "netboot", "serve"):
        text = task_help(name)
        assert "default: every" not in " ".join(text.split()) and "(required)" in text, name


def test_version_help_and_exit_codes_are_documented() -> None:
    assert kb("--version").stdout == f"kickbake {__version__}\n"
    top = kb("--help").stdout
    assert top.startswith("Usage: kickbake [--help | --list | --version] [--project DIR] TASK [--options]")
    assert "exit codes: 0 ok, 1 a check failed" in top and "2 bad input" in top
    assert "--dry" not in top and "--echo" not in top and "--collection" not in top
    assert "exit codes:" in task_help("render")


def test_one_task_per_call() -> None:
    proc = kb("rules", "rules")
    assert (proc.returncode, proc.stderr.strip()) == (2, "kickbake: one task at a time (got rules, rules)")


def test_shell_completion_completes_tasks_and_options() -> None:
    script = kb("--print-completion-script", "bash").stdout
    assert "complete -F _complete_kickbake -o default kickbake kb ./kb" in script
    assert '"$1" --complete' in script  # completes through ./kb in a checkout, kickbake when installed
    assert "validate" in kb("--complete", "--", "./kb", "val").stdout.split()
    assert "--real-tools" in kb("--complete", "--", "kickbake", "validate", "--").stdout.split()


def test_python_dash_m_runs_the_same_program() -> None:
    env = {**os.environ, "KICKBAKE_ROOT": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "kickbake", "--version"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout == f"kickbake {__version__}\n"


def test_task_help_shows_the_defaults_it_uses() -> None:
    text = " ".join(task_help("serve").split())
    assert "--address=STRING address to listen on (default: 127.0.0.1)" in text
    assert "--port=INT TCP port (default: 8080)" in text
