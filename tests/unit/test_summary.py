"""The summary people read (issue 17 item 5): one line per node within 80 columns, the details
with --verbose, findings and notes on stderr so stdout is the answer alone."""

from __future__ import annotations

import subprocess
from pathlib import Path

from kickbake.pipeline import NodeResult
from kickbake.summary import node_table
from tests.conftest import kb


def validate(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = kb("validate", *args, out=tmp_path, env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    return proc


def test_the_bundled_labs_summary_is_one_line_per_node_within_80_columns(tmp_path: Path) -> None:
    proc = validate(tmp_path)
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert [line.split(":")[0] for line in lines if not line.startswith(" ")][:3] == [
        "lab-legacy", "lab-el9", "lab-debian"]
    rows = [line.split() for line in lines if line.startswith("  ") and line.split()[0] != "node"]
    assert len(rows) == 9 and {row[0] for row in rows} == {"controller", "drbd-node1", "drbd-node2"}
    assert {row[1]: row[4] for row in rows} == {"fedora-15": "kickstart", "el9": "kickstart", "debian-12": "image"}
    assert {row[0]: row[3] for row in rows} == {"controller": "controller", "drbd-node1": "storage-node",
                                                "drbd-node2": "storage-node"}
    assert len(lines) == 3 * 5 + 1  # header, column names, 3 nodes per lab; the --verbose pointer
    # warnings are on stderr, with their file and line, and not in the answer
    assert "sites/lab-el9.yml:" in proc.stderr and "warning" in proc.stderr
    assert "sites/" not in proc.stdout and "hint:" not in proc.stdout


def test_verbose_shows_each_nodes_outputs_and_notes_wrapped_to_the_width(tmp_path: Path) -> None:
    proc = validate(tmp_path, "--site", "sites/lab-el9.yml", "-v")
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "  drbd-node1:" in lines and "    kickstarts/drbd-node1.ks" in lines
    assert any(line.startswith("    netboot install:") for line in lines)


def test_long_roles_give_way_and_node_names_are_never_cut() -> None:
    node = NodeResult(node="a-rather-long-hostname-of-a-storage-node", release="el9",
                      roles=("storage", "controller", "compute", "monitoring", "backup"), netboot="install",
                      outputs=["nodes/x/ (9 files + node.json)", "kickstarts/x.ks"], notes=["one"],
                      image="storage-node")
    short = NodeResult(**{**node.__dict__, "node": "n1"})
    lines = node_table([node, short])
    assert max(len(line) for line in lines) <= 80
    assert lines[1] == f"  {node.node}"  # on its own line, whole, above its row
    cells = lines[2].split()
    assert cells[0] == "el9" and cells[1].endswith("+") and cells[2:] == ["storage-node", "kickstart", "install", "1"]
    assert lines[3].split()[0] == "n1" and len(lines) == 4


def test_show_is_one_nodes_line_and_details_and_a_typo_names_the_node(tmp_path: Path) -> None:
    proc = kb("show", "sites/lab-debian.yml", "drbd-node1", out=tmp_path, env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "lab-debian: validated, 1 node, 2 warnings (on stderr)"
    assert lines[2].split()[:5] == ["drbd-node1", "debian-12", "storage", "storage-node", "image"]
    assert "  drbd-node1:" in lines and any(line.startswith("    nodes/drbd-node1/ (") for line in lines)
    assert max(len(line) for line in lines) <= 80
    assert not tmp_path.exists() or not any(tmp_path.iterdir())  # show writes nothing
    typo = kb("show", "--site", "sites/lab-debian.yml", "--node", "drbd-nod1", out=tmp_path, env={"COLUMNS": "80"})
    assert typo.returncode == 2
    assert "sites/lab-debian.yml: no node 'drbd-nod1' (hint: did you mean drbd-node1?)" in typo.stderr
