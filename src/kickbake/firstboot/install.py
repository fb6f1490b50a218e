# kickbake install: make a freshly installed system the node it was installed as.
#
# Runs at the end of a kickstart install (the last %post, chrooted into the new system, with
# --erroronfail) and wherever a node was installed by other means (e.g. a Debian preseed
# late_command). The renderer writes CONFIG above this text; nothing else is node-specific.
#
# 1. fetch the node's install bundle (agent, its unit, the node's configuration bundle) from the
#    boot server with the node's one-shot install token;
# 2. check its sha256 against the one in CONFIG (written into the kickstart at render time);
# 3. unpack it: the node then has exactly what a baked image has, and the same first boot runs;
# 4. report the installed package list; the boot server records the node and switches its
#    netboot entry to local boot, which also retires the token.
# Any failure exits 1: anaconda (--erroronfail) stops the install with the message rather than
# rebooting into a half-configured node. Python 2.7 (Fedora 15/16) and 3: standard library only.
# ruff: noqa: UP031, UP010, UP024, B904
from __future__ import print_function

import hashlib
import os
import subprocess
import sys
import time

try:
    from urllib.error import HTTPError, URLError
    from urllib.request import Request, urlopen
except ImportError:  # pragma: no cover - python 2.7 on the node
    from urllib2 import HTTPError, Request, URLError, urlopen  # type: ignore[no-redef]

TOKEN_HEADER = "X-Kickbake-Token"
STATE_DIR = "/var/lib/kickbake"
DPKG_STATUS = "/var/lib/dpkg/status"
ATTEMPTS = 5


class InstallFailed(Exception):
    pass


def say(message):
    line = "kickbake-install: %s" % message
    print(line)
    sys.stdout.flush()
    try:  # the installer's console: whoever watches the install sees why it stopped
        with open("/dev/console", "w") as console:
            console.write(line + "\n")
    except (IOError, OSError):
        pass


def request(url, token, body=None, headers=None, attempts=ATTEMPTS, pause=2.0):
    """GET (or PUT `body`) with the token; the reply's bytes. 4xx replies are final, network
    errors and 5xx are retried: the boot server may be re-rendering."""
    last = None
    for attempt in range(attempts):
        fields = dict(headers or {})
        fields[TOKEN_HEADER] = token
        req = Request(url, data=body, headers=fields)
        if body is not None:
            req.get_method = lambda: "PUT"  # type: ignore[method-assign]  # 2.7 has no method=
        try:
            reply = urlopen(req, timeout=120)
            try:
                return reply.read()
            finally:
                reply.close()
        except HTTPError as error:
            text = error.read().decode("utf-8", "replace").strip()
            if error.code < 500:
                raise InstallFailed("%s: HTTP %d: %s" % (url, error.code, text))
            last = "HTTP %d: %s" % (error.code, text)
        except (URLError, IOError, OSError) as error:
            last = str(error)
        time.sleep(pause * (attempt + 1))
    raise InstallFailed("%s: no answer after %d attempts: %s" % (url, attempts, last))


def install_bundle(config, root="/"):
    data = request(config["bundle_url"], config["token"])
    got = hashlib.sha256(data).hexdigest()
    if got != config["bundle_sha256"]:
        raise InstallFailed("install bundle %s has sha256 %s, the kickstart expects %s: not installed" %
                            (config["bundle_url"], got, config["bundle_sha256"]))
    # -m: the files get the install's time; --no-overwrite-dir: never change /usr or /etc themselves
    tar = subprocess.Popen(["tar", "-x", "-m", "--no-overwrite-dir", "-C", root, "-f", "-"], stdin=subprocess.PIPE)
    tar.communicate(data)
    if tar.returncode != 0:
        raise InstallFailed("unpacking the install bundle failed (tar exit %d)" % tar.returncode)
    say("installed the first-boot agent and %s's bundle (%d bytes, sha256 %s)" % (config["node"], len(data), got))


def package_list(config, root="/"):
    """The installed package list, in the form the boot server records."""
    if config["package_db"] == "dpkg":
        with open(os.path.join(root, DPKG_STATUS.lstrip("/")), "rb") as handle:
            return handle.read()
    query = subprocess.Popen(["rpm", "-qa", "--qf", config["rpm_query"]], stdout=subprocess.PIPE,
                             env=dict(os.environ, LC_ALL="C"))
    out = query.communicate()[0]
    if query.returncode != 0:
        raise InstallFailed("rpm -qa failed (exit %d)" % query.returncode)
    return b"".join(sorted(line + b"\n" for line in out.splitlines() if line))


def write_state(name, data, root="/"):
    directory = os.path.join(root, STATE_DIR.lstrip("/"))
    if not os.path.isdir(directory):
        os.makedirs(directory)
    with open(os.path.join(directory, name), "wb") as handle:
        handle.write(data)


def report(config, packages):
    headers = {"Content-Type": "text/plain; charset=utf-8", "X-Kickbake-Package-Db": config["package_db"],
               "X-Kickbake-Inputs": config["inputs_sha256"], "X-Kickbake-Installed-By": config["installed_by"]}
    reply = request(config["report_url"], config["token"], body=packages, headers=headers)
    say("reported: %s" % reply.decode("utf-8", "replace").strip())


def main(config, root="/"):
    try:
        if not config.get("token"):
            raise InstallFailed("%s is set to boot from its disk, so it has no install credential: "
                                "./kb netboot --site %s --node %s --install, then install again" %
                                (config["node"], config["site"], config["node"]))
        if config.get("bundle_url"):
            install_bundle(config, root)
        packages = package_list(config, root)
        write_state("installed-packages.%s" % ("status" if config["package_db"] == "dpkg" else "tsv"), packages, root)
        report(config, packages)
    except InstallFailed as error:
        say("INSTALL FAILED: %s" % error)
        return 1
    return 0
