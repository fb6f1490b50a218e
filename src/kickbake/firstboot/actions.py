# The first-boot actions: one function per action of kickbake.firstboot.steps.ACTIONS.
#
# Runs on the node (python 2.7 or 3, standard library only). Every action is idempotent; the
# destructive ones (drbd-create-md, vg-create-shared, lv-create) first ask the real tools whether
# the device already holds something and refuse or skip instead of overwriting it.
# ruff: noqa: UP031, UP004, UP010, UP024, B904
from __future__ import print_function

import grp
import os
import pwd
import subprocess
import tempfile
import time


class StepFailed(Exception):
    pass


class Result(object):
    def __init__(self, code, out):
        self.code = code
        self.out = out


def run(argv, check=True, env=None, input=None, secret=None):
    """Run a command (argument list, never a shell); output merged; `input` goes to its stdin.
    Raises StepFailed on error; `secret` (a password in argv) is masked in that message, which
    ends up in the journal and the log file."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if input is not None else None,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full_env)
    except OSError as error:
        raise StepFailed("%s: %s" % (argv[0], error))
    out = proc.communicate(input.encode("utf-8") if input is not None else None)[0].decode("utf-8", "replace")
    if check and proc.returncode != 0:
        shown = ["********" if secret and word == secret else word for word in argv]
        raise StepFailed("%s exited %d: %s" % (" ".join(shown), proc.returncode, out.strip()[-400:]))
    return Result(proc.returncode, out)


class Context(object):
    def __init__(self, bundle, bundle_dir, log, run=run, sleep=time.sleep, sys_net="/sys/class/net", max_wait=0):
        self.bundle = bundle
        self.bundle_dir = bundle_dir
        self.log = log
        self.run = run
        self.sleep = sleep
        self.sys_net = sys_net
        self.max_wait = max_wait  # kickbake.wait=SECONDS caps every wait (0: the step's own timeout)


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return ""


def makedirs(path, mode=0o755):
    if path and not os.path.isdir(path):
        os.makedirs(path, mode)


def write_file(path, data, mode=0o644, uid=0, gid=0):
    """Atomic: a temporary file in the same directory, then rename. Never half written."""
    makedirs(os.path.dirname(path))
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".kickbake-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if not isinstance(data, bytes) else data)
        os.chmod(tmp, mode)
        if os.geteuid() == 0:
            os.chown(tmp, uid, gid)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --- guards: what a device already holds -------------------------------------------------------

def device_contents(ctx, device, resource=None):
    """Reasons the device is NOT blank: DRBD metadata, a signature (filesystem, LVM label, RAID,
    partition table). Empty list = blank. Unclear answers count as 'not blank' (never guess)."""
    found = []
    if resource:
        dump = ctx.run(["drbdadm", "dump-md", resource], check=False)
        if dump.code == 0 or "unclean" in dump.out:
            found.append("DRBD metadata (drbdadm dump-md %s)" % resource)
        elif "No valid meta data found" not in dump.out and "no valid meta data" not in dump.out.lower():
            found.append("drbdadm dump-md %s could not tell (exit %d): %s"
                         % (resource, dump.code, dump.out.strip()[-200:]))
    wipefs = ctx.run(["wipefs", "--no-act", "--noheadings", device], check=False)
    if wipefs.code != 0:
        found.append("wipefs failed (exit %d): %s" % (wipefs.code, wipefs.out.strip()))
    elif wipefs.out.strip():
        found.append("signature (wipefs): %s" % " ".join(wipefs.out.split()))
    blkid = ctx.run(["blkid", "-p", "-o", "export", device], check=False)
    if blkid.code == 0:
        found.append("blkid: %s" % " ".join(blkid.out.split()))
    elif blkid.code != 2:  # 2 = nothing found
        found.append("blkid failed (exit %d): %s" % (blkid.code, blkid.out.strip()))
    return found


# --- system -----------------------------------------------------------------------------------

def set_hostname(ctx, args):
    name = args["hostname"]
    if read_text("/etc/hostname").strip() != name:
        write_file("/etc/hostname", name + "\n")
    ctx.run(["hostname", name])
    return name


def interface_by_mac(ctx, mac):
    for name in sorted(os.listdir(ctx.sys_net)):
        if read_text(os.path.join(ctx.sys_net, name, "address")).strip().lower() == mac.lower():
            return name
    return None


def configure_network(ctx, args):
    """Addresses now (ip) and on later boots (systemd-networkd, matched by MAC)."""
    done = []
    for interface in args["interfaces"]:
        local = interface_by_mac(ctx, interface["mac"])
        if local is None:
            raise StepFailed("no interface with MAC %s (%s)" % (interface["mac"], interface["name"]))
        lines = ["[Match]", "MACAddress=%s" % interface["mac"], "", "[Network]"]
        lines += ["Address=%s" % interface["address"]] if interface.get("address") else ["DHCP=yes"]
        lines += ["Gateway=%s" % interface["gateway"]] if interface.get("gateway") else []
        write_file("/etc/systemd/network/10-kickbake-%s.network" % interface["name"], "\n".join(lines) + "\n")
        ctx.run(["ip", "link", "set", "dev", local, "up"])
        if interface.get("address"):
            present = ctx.run(["ip", "-o", "addr", "show", "dev", local]).out
            if " %s " % interface["address"] not in present:
                ctx.run(["ip", "addr", "add", interface["address"], "dev", local])
        if interface.get("gateway"):
            ctx.run(["ip", "route", "replace", "default", "via", interface["gateway"]], check=False)
        done.append("%s=%s" % (local, interface.get("address") or "dhcp"))
    ctx.run(["systemctl", "--no-reload", "enable", "systemd-networkd.service"], check=False)
    return ", ".join(done)


def install_files(ctx, args):
    for entry in ctx.bundle["files"]:
        with open(os.path.join(ctx.bundle_dir, entry["source"]), "rb") as handle:
            data = handle.read()
        try:
            uid, gid = pwd.getpwnam(entry["owner"]).pw_uid, grp.getgrnam(entry["group"]).gr_gid
        except KeyError as error:
            raise StepFailed("%s: unknown owner or group %s" % (entry["path"], error))
        write_file(entry["path"], data, int(entry["mode"], 8), uid, gid)
    return "%d files" % len(ctx.bundle["files"])


def install_packages(ctx, args):
    packages = list(args["packages"])
    if os.path.exists("/usr/bin/apt-get"):
        ctx.run(["apt-get", "install", "-y", "--no-install-recommends"] + packages,
                env={"DEBIAN_FRONTEND": "noninteractive"})
    else:
        ctx.run(["dnf" if os.path.exists("/usr/bin/dnf") else "yum", "install", "-y"] + packages)
    return "%d packages" % len(packages)


def enable_services(ctx, args):
    # --no-reload: a daemon-reload per step costs a minute under emulation; the units are loaded.
    # SYSTEMCTL_SKIP_SYSV: units that also ship an init script (Debian's nova-*) would otherwise
    # run update-rc.d, which does a daemon-reload per unit (minutes under emulation, measured);
    # the native units are what systemd starts.
    ctx.run(["systemctl", "--no-reload", "enable"] + [s if "." in s else s + ".service" for s in args["services"]],
            env={"SYSTEMCTL_SKIP_SYSV": "1"})
    return " ".join(args["services"])


def start_services(ctx, args):
    for service in args["services"]:
        ctx.run(["systemctl", "start", service])
    return " ".join(args["services"])


def load_module(ctx, args):
    ctx.run(["modprobe", args["module"]])
    return args["module"]


def lvm_add_device(ctx, args):
    if not os.path.exists("/etc/lvm/devices/system.devices"):
        return "no devices file in use: nothing to add"
    listed = ctx.run(["lvmdevices"], check=False).out
    if args["device"] in listed:
        return "already listed"
    ctx.run(["lvmdevices", "--adddev", args["device"], "--yes"])
    return args["device"]


def run_command(ctx, args):
    return ctx.run(list(args["argv"])).out.strip()[-200:]


def wait_for(ctx, what, check, timeout, interval=3):
    if ctx.max_wait:
        timeout = min(timeout, ctx.max_wait)
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise StepFailed("timed out after %ds waiting for %s" % (timeout, what))
        ctx.sleep(interval)
