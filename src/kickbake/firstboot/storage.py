# First-boot storage actions: DRBD, (shared) LVM and the filesystems on it. Runs on the node (python 2.7 or 3).
#
# The rule of this file: never destroy data. create-md, vgcreate and lvcreate only run after the
# real tools (drbdadm dump-md, wipefs, blkid, vgs/lvs) say the target is empty or absent. A
# reinstalled node therefore keeps its DRBD metadata and resyncs from its peer; mkfs only runs on
# an LV where they find nothing.
# ruff: noqa: UP031, UP010, B904
from __future__ import print_function

try:
    from kickbake.firstboot.actions import StepFailed, device_contents, makedirs, read_text, wait_for
except ImportError:  # pragma: no cover - on the node
    from actions import StepFailed, device_contents, makedirs, read_text, wait_for  # type: ignore[no-redef]

DEFAULT_TIMEOUT = 900


def drbd_state(ctx, resource):
    """(connection state, disk states 'Local/Peer', role 'Local/Peer') from drbdadm."""
    def ask(command):
        result = ctx.run(["drbdadm", command, resource], check=False)
        return result.out.strip().splitlines()[-1] if result.code == 0 and result.out.strip() else "unknown"
    return ask("cstate"), ask("dstate"), ask("role")


def drbd_create_md(ctx, args):
    resource, disk = args["resource"], args["disk"]
    found = device_contents(ctx, disk, resource)
    if any(reason.startswith("DRBD metadata") for reason in found):
        return "kept existing DRBD metadata on %s (this node resyncs from its peer)" % disk
    if found:
        raise StepFailed("refusing drbdadm create-md on %s: it is not blank: %s" % (disk, "; ".join(found)))
    ctx.run(["drbdadm", "--", "--force", "create-md", resource])  # blank: nothing to lose
    return "created DRBD metadata on blank %s" % disk


def drbd_up(ctx, args):
    ctx.run(["drbdadm", "adjust", args["resource"]])
    return " ".join(drbd_state(ctx, args["resource"]))


def drbd_initial_sync(ctx, args):
    """The one chosen node forces the first sync, but only on brand-new data on BOTH sides:
    it waits to see the peer first, so a rebuilt node never overwrites its peer's good data."""
    resource = args["resource"]
    timeout = int(args.get("timeout", DEFAULT_TIMEOUT))
    wait_for(ctx, "%s to connect to its peer" % resource,
             lambda: drbd_state(ctx, resource)[0] not in ("StandAlone", "WFConnection", "Unconnected",
                                                          "unknown", "WFReportParams", "Connecting"),
             timeout)
    cstate, dstate, role = drbd_state(ctx, resource)
    if dstate != "Inconsistent/Inconsistent":
        return "no initial sync needed (%s %s)" % (cstate, dstate)
    ctx.run(["drbdadm", "primary", "--force", resource])
    return "forced %s primary: initial sync to the peer started" % resource


def drbd_wait_connected(ctx, args):
    resource = args["resource"]
    wait_for(ctx, "%s Connected and UpToDate/UpToDate" % resource,
             lambda: drbd_state(ctx, resource)[:2] == ("Connected", "UpToDate/UpToDate"),
             int(args.get("timeout", DEFAULT_TIMEOUT)), interval=5)
    return " ".join(drbd_state(ctx, resource))


def drbd_primary(ctx, args):
    resource = args["resource"]
    if drbd_state(ctx, resource)[2].startswith("Primary"):
        return "already Primary"
    ctx.run(["drbdadm", "primary", resource])
    return " ".join(drbd_state(ctx, resource))


def vg_exists(ctx, vg):
    return ctx.run(["vgs", "--noheadings", "-o", "vg_name", vg], check=False).code == 0


def vg_create_shared(ctx, args):
    vg, devices, lock_type = args["vg"], list(args["devices"]), args.get("lock_type", "none")
    if vg_exists(ctx, vg):
        return "VG %s exists: kept" % vg
    for device in devices:
        found = device_contents(ctx, device)
        if found:
            raise StepFailed("refusing vgcreate on %s: it is not blank (VG %s not visible): %s"
                             % (device, vg, "; ".join(found)))
    if lock_type in ("dlm", "sanlock"):
        command = ["vgcreate", "--shared", "--locktype", lock_type, vg] + devices
    elif lock_type == "clvm":
        command = ["vgcreate", "--clustered", "y", vg] + devices
    else:
        command = ["vgcreate", vg] + devices
    # the lock manager needs cluster quorum, which needs the peer: retry until it is there
    errors = []

    def attempt():
        result = ctx.run(command, check=False)
        errors.append(result.out.strip()[-300:])
        return result.code == 0 or vg_exists(ctx, vg)
    try:
        wait_for(ctx, "vgcreate %s to succeed (cluster locking ready)" % vg, attempt,
                 int(args.get("timeout", DEFAULT_TIMEOUT)), interval=10)
    except StepFailed as error:
        raise StepFailed("%s; last error: %s" % (error, errors[-1] if errors else ""))
    return "created %s VG %s on %s" % (lock_type, vg, " ".join(devices))


def vg_lock_start(ctx, args):
    vg = args["vg"]
    timeout = int(args.get("timeout", DEFAULT_TIMEOUT))

    def visible():
        ctx.run(["pvscan", "--cache"], check=False)
        return vg_exists(ctx, vg)
    wait_for(ctx, "VG %s to appear (created by the peer)" % vg, visible, timeout, interval=10)
    errors = []

    def start():
        result = ctx.run(["vgchange", "--lock-start", vg], check=False)
        errors.append(result.out.strip()[-300:])
        return result.code == 0
    try:
        wait_for(ctx, "vgchange --lock-start %s" % vg, start, timeout, interval=10)
    except StepFailed as error:
        raise StepFailed("%s; last error: %s" % (error, errors[-1] if errors else ""))
    return "lock started for %s" % vg


def lv_create(ctx, args):
    vg, lv = args["vg"], args["lv"]
    if ctx.run(["lvs", "--noheadings", "%s/%s" % (vg, lv)], check=False).code == 0:
        return "LV %s/%s exists: kept" % (vg, lv)
    activation = args.get("activation", "y")
    ctx.run(["lvcreate", "--yes", "--activate", activation, "-n", lv, "-L", args["size"], vg])
    return "created %s/%s (%s, activation %s)" % (vg, lv, args["size"], activation)


# --- filesystems on the shared LVs (Nova's instances_path on GFS2) ---------------------------------

def _fstype(ctx, device):
    result = ctx.run(["blkid", "-p", "-o", "value", "-s", "TYPE", device], check=False)
    return result.out.strip() if result.code == 0 else ""


def _mounted(mount):
    for line in read_text("/proc/mounts").splitlines():
        fields = line.split()
        if len(fields) > 1 and fields[1] == mount:
            return True
    return False


def fs_create(ctx, args):
    """ONE node, once: the filesystem on a blank LV only (anything found on it: kept, never
    formatted); its root is given to `owner` through a short mount here (dlm is up)."""
    device = args["device"]
    found = device_contents(ctx, device)
    if found:
        if _fstype(ctx, device) == args["fstype"]:
            return "%s already holds %s: kept" % (device, args["fstype"])
        raise StepFailed("%s is not blank, not formatting it: %s" % (device, "; ".join(found)))
    ctx.run(list(args["argv"]))
    if args.get("owner"):
        scratch = "/run/kickbake-mkfs"
        makedirs(scratch)
        ctx.run(["mount", "-t", args["fstype"], device, scratch])
        try:
            ctx.run(["chown", "%s:%s" % (args["owner"], args["owner"]), scratch])
        finally:
            ctx.run(["umount", scratch])
    return "made %s on %s" % (args["fstype"], device)


def mount_fs(ctx, args):
    """Every member: wait for the LV and its filesystem (made by the first member), activate it
    shared, mount it. Idempotent: a mounted filesystem is left as it is."""
    vg, lv, device, mount = args["vg"], args["lv"], args["device"], args["mount"]
    if _mounted(mount):
        return "%s already mounted" % mount
    timeout = int(args.get("timeout", DEFAULT_TIMEOUT))
    wait_for(ctx, "LV %s/%s (created by the first member)" % (vg, lv),
             lambda: ctx.run(["lvs", "--noheadings", "%s/%s" % (vg, lv)], check=False).code == 0, timeout, interval=10)
    ctx.run(["lvchange", "--activate", "sy", "%s/%s" % (vg, lv)])
    wait_for(ctx, "%s on %s (made by the first member)" % (args["fstype"], device),
             lambda: _fstype(ctx, device) == args["fstype"], timeout, interval=10)
    makedirs(mount)
    ctx.run(["mount", "-t", args["fstype"], "-o", args.get("options", "defaults"), device, mount])
    return "mounted %s on %s" % (device, mount)
