"""The fuzzer (tests/fuzz.py) with a fixed seed: every mutated bundled site renders or is refused
with exit 2 naming the inventory, never a traceback, output untouched on refusal, bounded time.
Longer runs: .venv/bin/python -m tests.fuzz --seed N --count M."""

from __future__ import annotations

import time

from tests.fuzz import fuzz


def test_seeded_fuzz_of_the_bundled_sites() -> None:
    start = time.monotonic()
    outcomes = fuzz(seed=20261201, count=600)
    refused = [o for o in outcomes if not o.ok]
    assert len(outcomes) == 600 and refused and len(refused) < len(outcomes)  # both kinds happen
    print(f"\nfuzz: {len(outcomes)} cases, {len(outcomes) - len(refused)} rendered, {len(refused)} refused, "
          f"{time.monotonic() - start:.0f}s")


def test_several_root_keys_go_to_authorized_keys_on_releases_with_sshkey(tmp_path) -> None:
    """anaconda's sshkey takes one key per user (pykickstart warns on a second): with two keys the
    kickstart writes authorized_keys in %post instead; a key given twice is kept once."""
    from kickbake import commands
    from tests.conftest import SITES

    text = (SITES / "lab-el9.yml").read_text()
    key = next(line for line in text.splitlines() if line.strip().startswith("- ssh-ed25519"))
    second = key.replace("lab-operator", "second-operator").replace("AAAAIMw", "AAAAIXw")
    site = tmp_path / "lab-el9.yml"
    site.write_text(text.replace(key, f"{key}\n{key}\n{second}"))
    result = commands.render_site(site, tmp_path / "out")
    kickstart = (tmp_path / "out" / "lab-el9" / "kickstarts" / "drbd-node1.ks").read_text()
    assert "sshkey --username=root" not in kickstart
    keys = kickstart.split("cat > /root/.ssh/authorized_keys <<'KICKBAKE_EOF'\n", 1)[1].split("KICKBAKE_EOF")[0]
    assert keys.splitlines() == [key.strip()[2:], second.strip()[2:]]
    assert result.nodes
