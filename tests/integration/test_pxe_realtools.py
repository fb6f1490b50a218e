"""The generated boot-server configs, checked by the real tools: `dnsmasq --test`, `nginx -t`, and
a live dnsmasq answering DHCP and TFTP inside its own network namespace (TFTP always binds port 69,
and nginx -t binds its listen address, so both run where the site's server address is local)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from kickbake.commands import render_site
from kickbake.run import run
from tests.conftest import BUNDLED, SITES

PROBE = Path(__file__).with_name("dhcp_probe.py")
SERVER = "192.168.122.1"  # pxe.server of every bundled site


def proxy_variant(tmp_path: Path) -> Path:
    """lab-el9 where another DHCP server owns the network."""
    text = (SITES / "lab-el9.yml").read_text()
    assert text.endswith("pxe:\n  server: 192.168.122.1\n  network: mgmt\n")
    site = tmp_path / "lab-proxy.yml"
    site.write_text(text.replace("site: lab-el9", "site: lab-proxy") + "  dhcp: proxy\n  http_port: 8080\n")
    return site


@pytest.fixture(scope="module")
def out_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pxe-real") / "output"
    for site in [*BUNDLED, proxy_variant(root.parent)]:
        render_site(site, root)
    return root


SITE_NAMES = ["lab-legacy", "lab-el9", "lab-debian", "lab-proxy"]


@pytest.mark.realtool
@pytest.mark.parametrize("site", SITE_NAMES)
def test_dnsmasq_accepts_every_generated_config(out_root: Path, site: str) -> None:
    dnsmasq = os.environ.get("DNSMASQ", "dnsmasq")
    if "/" not in dnsmasq:
        from tests.conftest import require_tool

        require_tool(dnsmasq)
    proc = run([dnsmasq, "--test", "-C", out_root / site / "pxe/dnsmasq.conf"], check=False)
    assert proc.returncode == 0 and "syntax check OK" in proc.stderr, proc.stderr


def test_proxy_mode_answers_pxe_only_for_known_macs(out_root: Path) -> None:
    conf = (out_root / "lab-proxy/pxe/dnsmasq.conf").read_text()
    assert "dhcp-range=192.168.122.0,proxy,255.255.255.0\n" in conf
    assert "dhcp-host=52:54:00:00:01:21,set:kickbake\n" in conf and ",192.168.122.11," not in conf
    assert 'pxe-service=tag:kickbake,tag:!ipxe,x86PC,"kickbake BIOS (pxelinux)",pxelinux\n' in conf
    assert "option:router" not in conf  # the other DHCP server owns the network settings
    assert "listen 192.168.122.1:8080;" in (out_root / "lab-proxy/pxe/nginx-site.conf").read_text()
    ipxe = (out_root / "lab-proxy/pxe/ipxe/drbd-node1.ipxe").read_text()
    assert "kernel http://192.168.122.1:8080/lab-proxy/pxe/images/el9/vmlinuz " in ipxe
    assert "inst.ks=http://192.168.122.1:8080/lab-proxy/kickstarts/drbd-node1.ks" in ipxe


@pytest.mark.realtool
def test_dnsmasq_rejects_a_broken_config(out_root: Path, tmp_path: Path) -> None:
    """The check above can fail: a mangled line is reported with its line number."""
    from tests.conftest import require_tool

    require_tool("dnsmasq")
    broken = tmp_path / "broken.conf"
    text = (out_root / "lab-el9/pxe/dnsmasq.conf").read_text()
    broken.write_text(text.replace("dhcp-range=set:kickbake,192.168.122.0,static", "dhcp-range=set:kickbake,nonsense"))
    proc = run(["dnsmasq", "--test", "-C", broken], check=False)
    assert proc.returncode != 0 and "line" in proc.stderr, proc.stderr


def in_netns(script: str, *args: str | os.PathLike[str], timeout: float = 60) -> str:
    """Run `script` (sh) as root in a new network namespace; return its stdout."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    proc = run(["unshare", "-n", "sh", "-c", script, "sh", *args], check=False, timeout=timeout)
    assert proc.returncode == 0, f"rc {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


NGINX_WRAPPER = """pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{}}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {site_conf};
}}
"""


@pytest.mark.realtool
@pytest.mark.parametrize("site", SITE_NAMES)
def test_nginx_accepts_every_generated_site(out_root: Path, tmp_path: Path, site: str) -> None:
    from tests.conftest import require_tool

    require_tool("nginx")
    wrapper = tmp_path / "nginx.conf"
    wrapper.write_text(NGINX_WRAPPER.format(tmp=tmp_path, site_conf=out_root / site / "pxe/nginx-site.conf"))
    script = 'ip link set lo up; ip addr add "$1"/32 dev lo; nginx -t -p "$2" -c "$3" 2>&1'
    output = in_netns(script, SERVER, tmp_path, wrapper)
    assert "test is successful" in output, output


# The DHCP client sits in a second namespace at the other end of a veth pair: a packet from an
# address of dnsmasq's own namespace would be dropped as martian. Both are stopped by their PIDs.
LIVE_DNSMASQ = r"""set -eu
server=$1 conf=$2 pid=$3 log=$4 py=$5 client_py=$6 mac=$7 cfg=$8
ip link set lo up
ip link add v0 type veth peer name v1
ip addr add "$server"/24 dev v0
ip link set v0 up
unshare -n sleep 60 &
client=$!
dnsmasq --conf-file="$conf" --pid-file="$pid" --log-facility="$log" --user=root --dhcp-leasefile="$pid.leases"
daemon=$(cat "$pid")
trap 'kill "$client" "$daemon"; while kill -0 "$daemon" 2>/dev/null; do sleep 0.1; done' EXIT
echo "dnsmasq $daemon"
sleep 0.2
ip link set v1 netns "$client"
nsenter -t "$client" -n sh -c 'ip link set lo up; ip link set v1 up; ip route add default dev v1'
shift 8
for probe in "$@"; do  # "MAC ARCH USERCLASS [CLIENT_ADDRESS]", - for no user class
    set -- $probe
    [ -z "${4:-}" ] || nsenter -t "$client" -n ip addr replace "$4"/24 dev v1
    nsenter -t "$client" -n "$py" "$client_py" v1 "$1" "$2" "${3#-}" ${4:-}
done
[ -z "$cfg" ] || curl -sS --max-time 10 "tftp://$server/pxelinux.cfg/$cfg"
"""


@pytest.mark.realtool
def test_live_dnsmasq_offers_the_reserved_address_and_the_right_boot_file(out_root: Path, tmp_path: Path) -> None:
    from tests.conftest import require_tool

    require_tool("dnsmasq")
    require_tool("curl")
    mac, cfg = "52:54:00:00:01:21", "01-52-54-00-00-01-21"
    output = in_netns(LIVE_DNSMASQ, SERVER, out_root / "lab-el9/pxe/dnsmasq.conf", tmp_path / "dnsmasq.pid",
                      tmp_path / "dnsmasq.log", sys.executable, PROBE, mac, cfg,
                      f"{mac} 0 -", f"{mac} 7 -", f"{mac} 0 iPXE")
    first, *lines = output.splitlines()
    bios, efi, ipxe = (json.loads(line) for line in lines[:3])
    assert bios == {"type": 2, "yiaddr": "192.168.122.11", "file": "pxelinux.0"}
    assert efi == {"type": 2, "yiaddr": "192.168.122.11", "file": "grubnetx64.efi"}
    assert ipxe == {"type": 2, "yiaddr": "192.168.122.11", "file": "ipxe/boot.ipxe"}
    served = "\n".join(lines[3:]) + "\n"
    assert served == (out_root / "lab-el9/pxe/pxelinux.cfg" / cfg).read_text()
    assert "inst.ks=http://192.168.122.1/lab-el9/kickstarts/drbd-node1.ks" in served
    # stopped by its PID: nothing of it is left
    pid = int(first.removeprefix("dnsmasq "))
    assert not Path(f"/proc/{pid}").exists() or "dnsmasq" not in Path(f"/proc/{pid}/comm").read_text()


@pytest.mark.realtool
def test_live_proxy_dhcp_answers_pxe_for_known_macs_only(out_root: Path, tmp_path: Path) -> None:
    """pxe.dhcp: proxy: another server owns the addresses; dnsmasq's proxy offers carry no address
    (yiaddr 0.0.0.0), only PXE: the boot menu for BIOS PXE ROMs, the script for iPXE; UEFI ROMs
    get the boot file from the boot-server request to port 4011 that follows, from the address
    the network's DHCP server gave them; a MAC the site does not know gets no answer at all."""
    from tests.conftest import require_tool

    require_tool("dnsmasq")
    known, stranger = "52:54:00:00:01:21", "52:54:00:99:99:99"
    output = in_netns(LIVE_DNSMASQ, SERVER, out_root / "lab-proxy/pxe/dnsmasq.conf", tmp_path / "dnsmasq.pid",
                      tmp_path / "dnsmasq.log", sys.executable, PROBE, known, "",
                      f"{known} 0 -", f"{known} 0 iPXE", f"{stranger} 0 -", f"{stranger} 7 -",
                      f"{known} 7 - 192.168.122.50", f"{known} 9 - 192.168.122.50")
    _, *lines = output.splitlines()
    bios, ipxe, unknown_bios, unknown_efi, efi7, efi9 = (json.loads(line) for line in lines)
    log = (tmp_path / "dnsmasq.log").read_text()
    assert bios == {"type": 2, "yiaddr": "0.0.0.0", "file": "", "class": "PXEClient",
                    "pxe_menu": ["kickbake BIOS (pxelinux)"]}, log
    assert ipxe["yiaddr"] == "0.0.0.0" and ipxe["file"] == "ipxe/boot.ipxe", ipxe
    assert unknown_bios == unknown_efi == {"type": 0}, log
    for efi in (efi7, efi9):
        assert efi["yiaddr"] == "0.0.0.0" and efi["file"] == "", efi
        assert efi["boot_server"]["file"] == "grubnetx64.efi", (efi, log)


# nginx live: workers as root only because pytest's temporary directories are private (0700).
LIVE_NGINX = r"""set -eu
server=$1 prefix=$2 conf=$3 site=$4 node1=$5
ip link set lo up
ip addr add "$server"/32 dev lo
ip addr add "$node1"/32 dev lo
nginx -p "$prefix" -c "$conf" -g 'user root;'
daemon=$(cat "$prefix/nginx.pid")
trap 'kill "$daemon"; while kill -0 "$daemon" 2>/dev/null; do sleep 0.1; done' EXIT
get() { curl -sS -o /dev/null -w '%{http_code} %{size_download}\n' "$@"; }
curl -sS --interface "$node1" "http://$server/$site/kickstarts/drbd-node1.ks"
echo "--"
get --interface "$node1" "http://$server/$site/kickstarts/drbd-node1.ks" -r 0-99
get "http://$server/$site/pxe/pxelinux.cfg/default"
get "http://$server/$site/inputs.json"
get "http://$server/$site/secrets/key"
get "http://$server/$site/nodes/n1/node.json"
get "http://$server/$site/kickstarts/drbd-node1.ks"
get --interface "$node1" "http://$server/$site/kickstarts/drbd-node2.ks"
get "http://$server/$site/install/drbd-node1.tar"
get "http://$server/$site/pxe/planted-link"
"""


@pytest.mark.realtool
def test_live_nginx_serves_kickstarts_and_ranges_but_not_the_rest(out_root: Path, tmp_path: Path) -> None:
    from tests.conftest import require_tool

    require_tool("nginx")
    require_tool("curl")
    generation = (out_root / "lab-el9").resolve()
    for unpublished in ("secrets/key", "nodes/n1/node.json"):  # they exist, and must not be served
        (generation / unpublished).parent.mkdir(parents=True, exist_ok=True)
        (generation / unpublished).write_text("not for HTTP")
    (generation / "pxe" / "planted-link").symlink_to("/etc/passwd")  # disable_symlinks refuses it
    wrapper = tmp_path / "nginx.conf"
    wrapper.write_text(NGINX_WRAPPER.format(tmp=tmp_path, site_conf=out_root / "lab-el9/pxe/nginx-site.conf"))
    output = in_netns(LIVE_NGINX, SERVER, tmp_path, wrapper, "lab-el9", "192.168.122.11")
    kickstart, statuses = output.split("--\n")
    assert kickstart == (out_root / "lab-el9/kickstarts/drbd-node1.ks").read_text()
    default_size = (out_root / "lab-el9/pxe/pxelinux.cfg/default").stat().st_size
    codes = [line.split() for line in statuses.splitlines()]
    assert codes[:2] == [["206", "100"], ["200", str(default_size)]]
    assert [code for code, _ in codes[2:5]] == ["404", "404", "404"]
    # a node's kickstart (it holds its install token) and install bundle: its own addresses only
    assert [code for code, _ in codes[5:8]] == ["403", "403", "403"]
    assert codes[8][0] in ("403", "404")
