"""The `kickbake` command (./kb in a checkout): the task collection of the project's tasks.py,
shaped for people. Invoke stays the task layer (`invoke --list` lists the same tasks); this
program keeps only the flags a user needs and none of Invoke's runner flags (-R dry-run, -e
echo, -c collection, ...), runs one task per call, gives each short flag one meaning
(SHORT_FLAGS), suggests the nearest task or flag on a typo, and exits 0 ok, 1 a check failed,
2 bad input (a usage error included), with a JSON error under --json."""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import io
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from invoke import Argument, Collection, Exit, ParseError, Program, Task, UnexpectedExit
from invoke import task as invoke_task
from invoke.completion.complete import complete, print_completion_script
from invoke.parser import ParserContext

from kickbake import __version__
from kickbake.errors import EXIT_BAD_INPUT, EXIT_FAILURE, error_payload

# every short flag of every task, one meaning each; other options are long only
SHORT_FLAGS = {"site": "s", "json": "j", "node": "n", "image": "i", "verbose": "v"}
EXIT_CODES = "exit codes: 0 ok, 1 a check failed (or a tool it ran), 2 bad input (inventory, flags, usage)"
USAGE = "kickbake [--help | --list | --version] [--project DIR] TASK [--options]"


class KickbakeTask(Task):  # type: ignore[type-arg]  # invoke's Task is generic only in its stubs
    """An Invoke task whose short flags come from SHORT_FLAGS instead of each option's first free
    letter (which made -d mean --debug, --dry-run or --doc depending on the task)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["auto_shortflags"] = False
        super().__init__(*args, **kwargs)

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        """Invoke pops each help string as it uses it, so a second listing (the program's own
        checks, then the parser's) would show no help: keep them."""
        unknown = sorted(set(self.help) - set(self.argspec(self.body).parameters))
        if unknown and not ignore_unknown_help:
            raise ValueError(f"{self.name}: help for parameters it does not have: {unknown}")
        kept = dict(self.help)
        try:
            arguments: list[Argument] = super().get_arguments(ignore_unknown_help=True)
            return arguments
        finally:
            self.help = kept

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts: dict[str, Any] = super().arg_opts(name, default, taken_names)
        shown = default not in (None, "", True, False) and not isinstance(default, type)
        if shown and opts.get("help") and "default" not in opts["help"]:
            opts["help"] = f"{opts['help']} (default: {default})"
        if name in SHORT_FLAGS:
            opts["names"] = [*opts["names"], SHORT_FLAGS[name]]
        return opts


def task(*args: Any, **kwargs: Any) -> Any:
    """invoke.task with kickbake's short flags; tasks.py uses it for every task."""
    return invoke_task(*args, klass=KickbakeTask, **kwargs)


def error_json(message: str, hint: str = "", code: int = EXIT_BAD_INPUT) -> str:
    """A usage error under --json: on stdout, like every --json answer (kickbake.errors.error_payload)."""
    return json.dumps(error_payload(message, hint, code), indent=2, sort_keys=True)


def suggestion(token: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(token, choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else ""


class KickbakeProgram(Program):
    def core_args(self) -> list[Argument]:
        return [
            Argument(names=("help", "h"), optional=True, help="show this help, or a task's (kickbake TASK --help)"),
            Argument(names=("list", "l"), kind=bool, default=False, help="list the tasks"),
            Argument(names=("version", "V"), kind=bool, default=False, help="show the version"),
            Argument(names=("project",), kind=str, default="",
                     help="the site project to run on: its sites/ and output/ (default: the current directory "
                          "when it holds sites/, else kickbake's checkout); relative paths are taken from it"),
            Argument(names=("print-completion-script",), kind=str, default="",
                     help="print shell completion for bash, zsh or fish: "
                          'eval "$(kickbake --print-completion-script bash)"'),
            Argument(names=("complete",), kind=bool, default=False, help="(used by the completion script)"),
        ]

    def task_args(self) -> list[Argument]:
        return []

    @property
    def wants_json(self) -> bool:
        return "--json" in self.argv or "-j" in self.argv

    def run(self, argv: list[str] | None = None, exit: bool = True) -> None:
        try:
            self.create_config()
            self.parse_core(argv)
            self.parse_collection()
            self.parse_tasks()
            self.parse_cleanup()
            self.config.merge()
            self.execute()
        except ParseError as error:
            self.usage_error(error)
        except UnexpectedExit as error:  # a task's c.run() failed: tasks use kickbake.run instead
            print(error, file=sys.stderr)
            sys.exit(EXIT_FAILURE)
        except Exit as error:
            if error.message:
                if self.wants_json and error.code:
                    print(error_json(str(error.message), code=error.code))
                else:
                    print(error.message, file=sys.stderr)
            sys.exit(error.code)
        except KeyboardInterrupt:
            sys.exit(130)
        except BrokenPipeError:  # `kickbake --help | head`: the reader left; no traceback
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_FAILURE)

    def usage_error(self, error: ParseError) -> None:
        message = str(error)
        token = re.fullmatch(r"No idea what '(.*)' is!", message)
        hint = ""
        missing = re.fullmatch(r"'(.*)' did not receive required positional arguments: (.*)", message)
        no_value = re.fullmatch(r"Flag <Argument: ([^ >]*).*> needed value and was not given one!", message)
        if missing:
            names = [name.strip("'") for name in missing.group(2).split(", ")]
            wanted = ", ".join(f"--{n.replace('_', '-')}" if len(n) > 1 else n.upper() for n in names)
            message, hint = f"{missing.group(1)} needs {wanted}", f"kickbake {missing.group(1)} --help"
        elif no_value:
            message = f"--{no_value.group(1).replace('_', '-')} needs a value"
        elif token:
            wrong = token.group(1)
            context: ParserContext | None = error.context
            in_task = context is not None and context.name
            if wrong.startswith("-"):
                flags = list(context.flags) if in_task and context is not None else []
                flags += list(self.initial_context.flags)
                where = f" for {context.name}" if in_task and context is not None else ""
                message = f"no option {wrong}{where}"
                hint = suggestion(wrong, flags) or f"kickbake {context.name if in_task and context else ''} --help"
            else:
                message = f"no task {wrong!r}" if not in_task else f"unexpected argument {wrong!r}"
                hint = suggestion(wrong, list(self.collection.task_names)) or (
                    f"kickbake {context.name} --help" if in_task and context is not None else "kickbake --list")
        hint = " ".join(hint.split())
        if self.wants_json:
            print(error_json(message, hint))
        else:
            print(f"kickbake: {message}" + (f" ({hint})" if hint else ""), file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)

    def parse_core(self, argv: list[str] | None) -> None:
        self.normalize_argv(argv)
        self.parse_core_args()
        if self.args.version.value:
            self.print_version()
            raise Exit
        if self.args["print-completion-script"].value:
            shell = self.args["print-completion-script"].value
            script = io.StringIO()
            with contextlib.redirect_stdout(script):
                print_completion_script(shell=shell, names=self.binary_names)
            # bash: ask the very command being completed ($1: ./kb in a checkout, kickbake installed)
            print(script.getvalue().replace("`kickbake --complete --", '`"$1" --complete --'), end="")
            raise Exit

    def parse_tasks(self) -> None:
        self.check_task_flags(self.core.unparsed)
        super().parse_tasks()

    def check_task_flags(self, tokens: list[str]) -> None:
        """Refuse an unknown option of the task before Invoke's parser sees it: a task still
        missing a positional argument (diff A B) would take `--bogus`, or `--help`, as its value."""
        contexts = self.task_contexts()
        context = None
        skip = False
        for token in tokens:
            if token == "--":
                return
            if skip:
                skip = False
            elif context is None:
                context = contexts.get(token)
            elif token in ("-h", "--help"):
                self.args.help.value = context.name
            elif token.startswith("-") and token != "-":
                flag = token.split("=", 1)[0]
                if flag in context.flags:
                    skip = context.flags[flag].takes_value and "=" not in token
                elif flag not in context.inverse_flags and flag not in self.initial_context.flags:
                    raise ParseError(f"No idea what '{flag}' is!", context)
        wanted = self.args.help.value
        if wanted not in (None, True):
            if wanted not in contexts:
                raise ParseError(f"No idea what '{wanted}' is!")
            self.print_task_help(str(wanted))
            raise Exit

    def task_contexts(self) -> dict[str, ParserContext]:
        return {str(c.name): c for c in self.collection.to_contexts(ignore_unknown_help=True)}

    def parse_cleanup(self) -> None:
        self.list_root, self.list_depth, self.list_format = None, None, "flat"
        self.scoped_collection = self.collection
        if self.args.help.value is True:
            self.print_help()
            raise Exit
        if self.args.list.value:
            self.list_tasks()
            raise Exit
        if self.args.complete.value:
            complete(names=self.binary_names, core=self.core, initial_context=self.initial_context,
                     collection=self.collection, parser=self._make_parser())
        if not self.tasks:
            self.print_help()
            raise Exit
        if len(self.tasks) > 1:
            raise Exit(f"kickbake: one task at a time (got {', '.join(str(t.name) for t in self.tasks)})",
                       code=EXIT_BAD_INPUT)

    def task_list_opener(self, extra: str = "") -> str:
        return "Tasks (kickbake TASK --help for one)"

    def print_help(self) -> None:
        print(f"Usage: {USAGE}\n")
        print("Options:\n")
        self.print_columns(self.initial_context.help_tuples())
        self.list_tasks()
        print(f"{EXIT_CODES}\n")

    def print_task_help(self, name: str) -> None:
        context = self.task_contexts()[name]
        names = [str(arg.name) for arg in context.positional_args]
        positional = " ".join(n.upper() for n in names)
        print(f"Usage: kickbake {name} [--options]{' ' + positional if positional else ''}\n")
        body = self.collection[name].body
        for line in (body.__doc__ or "").strip().splitlines():
            print(f"  {line.strip()}")
        print("\nOptions:\n")
        tuples = context.help_tuples()
        if tuples:
            self.print_columns(tuples)
        for n in (n for n in names if len(n) > 1):
            print(f"  {n.upper()} may also be given as --{n.replace('_', '-')} {n.upper()}\n")
        print(f"{EXIT_CODES}\n")


def _tasks_collection() -> Collection:
    from kickbake.paths import PROJECT_ROOT  # after --project is known: paths reads KICKBAKE_PROJECT

    path = PROJECT_ROOT / "tasks.py"
    spec = importlib.util.spec_from_file_location("tasks", path)
    if spec is None or spec.loader is None or not path.is_file():
        sys.exit(f"kickbake: no tasks.py in {PROJECT_ROOT}; run from a kickbake checkout or set KICKBAKE_ROOT")
    module = importlib.util.module_from_spec(spec)
    sys.modules["tasks"] = module
    spec.loader.exec_module(module)
    return Collection.from_module(module)


def enter_project(argv: list[str]) -> None:
    """--project DIR: the site project is DIR (KICKBAKE_PROJECT for kickbake.paths, read once at
    import), and relative paths are taken from it, as if run there."""
    for index, token in enumerate(argv[:argv.index("--") if "--" in argv else len(argv)]):
        if token == "--project" or token.startswith("--project="):
            value = token.partition("=")[2] if "=" in token else (argv[index + 1] if index + 1 < len(argv) else "")
            project = Path(value).expanduser()
            if not value or not project.is_dir():
                sys.stderr.write(f"kickbake: --project {value}: not a directory\n")
                sys.exit(EXIT_BAD_INPUT)
            os.environ["KICKBAKE_PROJECT"] = str(project.resolve())
            os.chdir(project)
            return


def main() -> None:
    enter_project(sys.argv)
    program = KickbakeProgram(namespace=_tasks_collection(), name="kickbake", binary="kickbake",
                              binary_names=["kickbake", "kb", "./kb"], version=__version__)
    program.run()
