"""Kickstart rendering: golden files, determinism, atomic output, real pykickstart validation."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kickbake import commands, pipeline
from kickbake.errors import BadInput
from kickbake.model import load_site, plan
from kickbake.render.kickstart import render_kickstart
from kickbake.validate.kickstart import validate_kickstart
from tests.bundles import seed_secrets
from tests.conftest import BUNDLED, ROOT, require_tool
from tests.golden_tree import assert_tree_matches, files_of


@pytest.mark.parametrize("site", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_kickstarts_match_golden_files(site: Path, out_root: Path, update_golden: bool) -> None:
    seed_secrets(out_root, site.stem)  # the install bundle's sha256 and the token are in the kickstart
    result = commands.render_site(site, out_root)
    rendered = out_root / result.site / "kickstarts"
    if not any(o.startswith("kickstarts/") for n in result.nodes for o in n.outputs):  # Debian: no anaconda
        assert not rendered.exists()
        assert all("no kickstart" in " ".join(n.notes) for n in result.nodes)
        return
    assert_tree_matches(rendered, ROOT / "tests" / "golden" / result.site / "kickstarts", update_golden)


def test_kickstarts_never_hold_a_plaintext_password(out_root: Path) -> None:
    commands.render_site(ROOT / "sites" / "lab-legacy.yml", out_root)
    for path in (out_root / "lab-legacy" / "kickstarts").glob("*.ks"):
        rootpw = [line for line in path.read_text().splitlines() if line.startswith("rootpw")]
        assert rootpw == [rootpw[0]] and rootpw[0].startswith("rootpw --iscrypted $6$")


@pytest.mark.realtool
def test_every_kickstart_passes_ksvalidator_as_a_process(out_root: Path) -> None:
    """The same check operators run by hand: pykickstart's own ksvalidator, per release."""
    ksvalidator = Path(os.sys.executable).with_name("ksvalidator")  # type: ignore[attr-defined]
    if not ksvalidator.exists():
        require_tool("ksvalidator")
    checked = 0
    for site in BUNDLED:
        site_plan = plan(load_site(site))
        result = commands.render_site(site, out_root)
        for node in site_plan.nodes:
            if node.release.kickstart is None:
                continue
            path = out_root / result.site / "kickstarts" / f"{node.hostname}.ks"
            proc = subprocess.run([str(ksvalidator), "-v", node.release.kickstart.handler, str(path)],
                                  capture_output=True, text=True)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            checked += 1
    assert checked == 6


def test_validation_names_line_and_template_of_a_bad_line() -> None:
    site_plan = plan(load_site(ROOT / "sites" / "lab-el9.yml"))
    node = site_plan.node("drbd-node1")
    text = render_kickstart(site_plan, node, "0" * 64)
    broken = text.replace("zerombr\n", "zerombr\nclearpart --bogus-option\n")
    findings = validate_kickstart(broken, "RHEL9")
    assert len(findings) == 1
    line = broken.splitlines().index("clearpart --bogus-option") + 1
    assert findings[0].line == line and findings[0].template == "kickstarts/snippets/storage.ks.j2"
    assert "bogus-option" in findings[0].message or "bogus-option" in findings[0].text


def test_parse_warnings_are_errors_with_their_line() -> None:
    text = "text\nnetwork --device=eth0 --bootproto=dhcp\nnetwork --device=eth0 --bootproto=dhcp\n"
    findings = validate_kickstart(text, "F15")
    assert [(f.line, f.message.startswith("warning treated as error")) for f in findings] == [(3, True)]


def test_a_handler_is_never_reused_with_state() -> None:
    """A second file must not see the first file's commands (duplicate-definition warnings)."""
    text = "text\nnetwork --device=eth0 --bootproto=dhcp\n"
    assert validate_kickstart(text, "F15") == []
    assert validate_kickstart(text, "F15") == []


def test_bad_input_writes_nothing(out_root: Path) -> None:
    commands.render_site(ROOT / "sites" / "lab-legacy.yml", out_root)
    before = files_of(out_root / "lab-legacy")
    with pytest.raises(BadInput):
        commands.render_site(ROOT / "tests" / "bad" / "bad-mac.yml", out_root)
    assert not (out_root / "bad-lab").exists()
    assert files_of(out_root / "lab-legacy") == before


def test_interrupted_render_leaves_last_good_output(out_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = ROOT / "sites" / "lab-legacy.yml"
    commands.render_site(site, out_root)
    before = files_of(out_root / "lab-legacy")
    calls = {"n": 0}
    real = pipeline.render_kickstart  # type: ignore[attr-defined]  # the name the pipeline calls

    def crash_on_second_node(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # as if the operator pressed ^C half way
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "render_kickstart", crash_on_second_node)
    with pytest.raises(KeyboardInterrupt):
        commands.render_site(site, out_root)
    assert files_of(out_root / "lab-legacy") == before
    assert not list(out_root.glob(".lab-legacy.*.tmp")), "staging directory left behind"
