"""Start-up time of the command a person types: `kickbake --help`, `kickbake --list` and
`kickbake validate` of a bundled lab, each run as a fresh process several times.

Targets (printed, not asserted; issue 17): --help and --list <= 0.3 s, validate <= 0.6 s.
The best of the rounds is the figure (other processes on the host only ever add time); the
median and the least CPU time (user + system, which a busy host inflates far less) beside it.
`--via-kb` times ./kb instead (adds its bash bootstrap check).
Run: .venv/bin/python bench/cli_start.py [--rounds 7] [--site sites/lab-el9.yml] [--via-kb]"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KICKBAKE = Path(sys.executable).with_name("kickbake")

CASES: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("--help", ("--help",), 0.3),
    ("--list", ("--list",), 0.3),
    ("validate", ("validate", "--site", "{site}"), 0.6),
)


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--site", default="sites/lab-el9.yml")
    parser.add_argument("--via-kb", action="store_true", help="time ./kb rather than the kickbake script")
    args = parser.parse_args()
    program = [str(ROOT / "kb")] if args.via_kb else [str(KICKBAKE)]
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "KICKBAKE_ROOT": str(ROOT), "KICKBAKE_OUTPUT": out}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as people run it: the warm-up run caches bytecode
        timed([*program, "--list"], env)  # warm the page cache (and bytecode caches, when written)
        print(f"{' '.join(Path(p).name for p in program)}, {args.rounds} rounds, site {args.site}")
        for label, argv, target in CASES:
            rounds = [timed([*program, *(a.format(site=args.site) for a in argv)], env) for _ in range(args.rounds)]
            best = min(wall for wall, _ in rounds)
            verdict = "within" if best <= target else "OVER"
            print(f"{label:<10} best {best:6.3f} s  median {statistics.median(w for w, _ in rounds):6.3f} s  "
                  f"cpu {min(cpu for _, cpu in rounds):6.3f} s  target {target:.1f} s: {verdict}")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (a busy host adds wall time, "
              "not CPU time)")


if __name__ == "__main__":
    main()
