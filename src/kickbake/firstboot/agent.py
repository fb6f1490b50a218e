# kickbake first-boot agent: make this image become its node, once.
#
# Installed as /usr/lib/kickbake/kickbake-firstboot (with actions.py beside it) and run by
# kickbake-firstboot.service. It runs on the node's own python (2.7 on Fedora 15/16, 3 elsewhere),
# so it uses only the standard library and no syntax newer than 2.7 (no f-strings, no annotations).
#
# Flow: identify the node -> run its node.json steps in order (each idempotent; `once` steps are
# recorded and skipped afterwards) -> write the done-stamp. A failed step stops the run with exit
# 1; systemd's condition lets the next boot retry. Nothing here destroys data: see guards in
# actions.py.
# ruff: noqa: UP031, UP004, UP010, UP024, SIM115, SIM105
from __future__ import print_function

import hashlib
import json
import os
import socket
import sys
import time

try:  # in the kickbake package (tests, build) or beside this file on the node
    from kickbake.firstboot import actions, openstack, storage
except ImportError:  # pragma: no cover - on the node
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import actions  # type: ignore[no-redef]
    import openstack  # type: ignore[no-redef]
    import storage  # type: ignore[no-redef]

# one function per action of kickbake.firstboot.steps.ACTIONS (a test keeps the two equal)
ACTIONS = {
    "set-hostname": actions.set_hostname,
    "configure-network": actions.configure_network,
    "install-files": actions.install_files,
    "install-packages": actions.install_packages,
    "enable-services": actions.enable_services,
    "start-services": actions.start_services,
    "load-module": actions.load_module,
    "lvm-add-device": actions.lvm_add_device,
    "drbd-create-md": storage.drbd_create_md,
    "drbd-up": storage.drbd_up,
    "drbd-initial-sync": storage.drbd_initial_sync,
    "drbd-wait-connected": storage.drbd_wait_connected,
    "drbd-primary": storage.drbd_primary,
    "vg-create-shared": storage.vg_create_shared,
    "vg-lock-start": storage.vg_lock_start,
    "lv-create": storage.lv_create,
    "fs-create": storage.fs_create,
    "mount-fs": storage.mount_fs,
    "sql-databases": openstack.sql_databases,
    "rabbitmq-user": openstack.rabbitmq_user,
    "keystone-bootstrap": openstack.keystone_bootstrap,
    "keystone-register": openstack.keystone_register,
    "keystone-manage-register": openstack.keystone_manage_register,
    "http-wait": openstack.http_wait,
    "run": actions.run_command,
}

SITE_DIR = "/usr/share/kickbake/site"
STATE_DIR = "/var/lib/kickbake"
LOG_FILE = "/var/log/kickbake-firstboot.log"
IMAGE_RECORD = "/etc/kickbake/image.json"
INSTALL_RECORD = "/etc/kickbake/install.json"  # a node installed by kickstart: its install bundle's record


class NotIdentified(Exception):
    pass


def bundle_hash(directory):
    """sha256 over (content hash, relative path) of every file of a bundle, in sorted order.
    The build computes the same value for image.json, so the done-stamp ties back to it."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                content = hashlib.sha256(handle.read()).hexdigest()
            digest.update(("%s  %s\n" % (content, os.path.relpath(path, directory))).encode("utf-8"))
    return digest.hexdigest()


def cmdline_args(text):
    """kickbake.* arguments of a kernel command line: {'node': 'drbd-node1', ...}."""
    found = {}
    for word in text.split():
        if word.startswith("kickbake.") and "=" in word:
            key, value = word[len("kickbake."):].split("=", 1)
            found[key] = value
    return found


def bundle_macs(bundles):
    """{mac: node} from each bundle's configure-network step."""
    macs = {}
    for node, bundle in sorted(bundles.items()):
        for step in bundle.get("steps", []):
            if step.get("action") != "configure-network":
                continue
            for interface in step.get("args", {}).get("interfaces", []):
                if interface.get("mac"):
                    macs[interface["mac"].lower()] = node
    return macs


def identify(cmdline, local_macs, hostname, bundles):
    """(node, how): kernel argument kickbake.node, else a local MAC found in a bundle, else the
    host name. Raises NotIdentified when nothing matches a baked bundle."""
    wanted = cmdline_args(cmdline).get("node")
    if wanted:
        if wanted not in bundles:
            raise NotIdentified("kickbake.node=%s has no baked bundle (have: %s)"
                                % (wanted, ", ".join(sorted(bundles))))
        return wanted, "kernel argument kickbake.node"
    by_mac = bundle_macs(bundles)
    matches = sorted(set(by_mac[m.lower()] for m in local_macs if m.lower() in by_mac))
    if len(matches) > 1:
        raise NotIdentified("local MACs match several nodes: %s" % ", ".join(matches))
    if matches:
        return matches[0], "MAC address"
    short = hostname.split(".")[0]
    if short in bundles:
        return short, "host name"
    raise NotIdentified("no kickbake.node argument, no MAC of %s and no host name %r in the baked bundles (%s)"
                        % (", ".join(sorted(local_macs)) or "no interface", short, ", ".join(sorted(bundles))))


def read_json(path, default=None):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return default


def local_macs(sys_net="/sys/class/net"):
    macs = []
    for name in sorted(os.listdir(sys_net)) if os.path.isdir(sys_net) else []:
        mac = actions.read_text(os.path.join(sys_net, name, "address")).strip().lower()
        if mac and mac != "00:00:00:00:00:00":
            macs.append(mac)
    return macs


def load_bundles(site_dir):
    nodes_dir = os.path.join(site_dir, "nodes")
    bundles = {}
    for node in sorted(os.listdir(nodes_dir)) if os.path.isdir(nodes_dir) else []:
        bundle = read_json(os.path.join(nodes_dir, node, "node.json"))
        if bundle is not None:
            bundles[node] = bundle
    return bundles


class Log(object):
    """One line per event to stdout (the journal), the log file and, if asked, a console."""

    def __init__(self, path, console=None):
        actions.makedirs(os.path.dirname(path))
        self.handles = [open(path, "a")]
        if console:
            try:
                self.handles.append(open(console, "w"))
            except (IOError, OSError):
                pass

    def __call__(self, message):
        line = "kickbake-firstboot: %s" % message
        print(line)
        sys.stdout.flush()
        log_file, consoles = self.handles[0], self.handles[1:]
        log_file.write("%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), line))
        log_file.flush()
        for console in consoles:  # marker lines for whoever watches the serial line
            console.write("KICKBAKE %s\n" % message)
            console.flush()


def step_stamp(state_dir, step_id):
    return os.path.join(state_dir, "steps", step_id.replace("/", "_"))


def run_steps(bundle, bundle_dir, state_dir, log, run=None, max_wait=0):
    """Run every step in order; return True when all succeeded. Stops at the first failure."""
    context = actions.Context(bundle=bundle, bundle_dir=bundle_dir, log=log, run=run or actions.run,
                              max_wait=max_wait)
    for step in bundle["steps"]:
        stamp = step_stamp(state_dir, step["id"])
        if step.get("once") and os.path.exists(stamp):
            log("step %s skip: done on an earlier boot" % step["id"])
            continue
        started = time.time()
        try:
            outcome = ACTIONS[step["action"]](context, step.get("args", {}))
        except Exception as error:  # noqa: BLE001 - any failure stops the run, retried next boot
            log("step %s FAILED after %.0fs: %s" % (step["id"], time.time() - started, error))
            return False
        if step.get("once"):
            actions.write_file(stamp, "%s\n" % (outcome or "done"))
        log("step %s ok (%.0fs)%s" % (step["id"], time.time() - started, ": %s" % outcome if outcome else ""))
    return True


def main(root="/", cmdline_path="/proc/cmdline"):
    def at(path):
        return os.path.join(root, path.lstrip("/"))

    cmdline = actions.read_text(cmdline_path)
    console = cmdline_args(cmdline).get("report")
    log = Log(at(LOG_FILE), "/dev/%s" % console if console else None)
    done = at(os.path.join(STATE_DIR, "firstboot.done"))
    if os.path.exists(done):
        log("already done (%s): nothing to do" % done)
        return 0
    bundles = load_bundles(at(SITE_DIR))
    try:
        node, how = identify(cmdline, local_macs(), socket.gethostname(), bundles)
    except NotIdentified as error:
        log("cannot tell which node this is: %s" % error)
        return 1
    bundle_dir = os.path.join(at(SITE_DIR), "nodes", node)
    log("this is %s (by %s), %d steps" % (node, how, len(bundles[node]["steps"])))
    max_wait = int(cmdline_args(cmdline).get("wait", "0") or 0)
    if not run_steps(bundles[node], bundle_dir, at(STATE_DIR), log, max_wait=max_wait):
        log("first boot incomplete: the failed step is retried on the next boot")
        return 1
    image = read_json(at(IMAGE_RECORD)) or read_json(at(INSTALL_RECORD), {})
    stamp = {"node": node, "identified_by": how, "image_id": image.get("image_id", "unknown"),
             "installed_by": image.get("installed_by", "image"),
             "bundle_hash": bundle_hash(bundle_dir), "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    actions.write_file(done, json.dumps(stamp, indent=2, sort_keys=True) + "\n")
    log("first boot done: %s" % json.dumps(stamp, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
