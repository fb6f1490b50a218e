# The first-boot actions that bootstrap an OpenStack controller's backends (DOMAIN.md NV5 and
# runbook 4b step 11): Nova's databases and users, and its RabbitMQ user, read from the node's
# own nova.conf so no password travels in node.json. The `nova-manage` commands that follow are
# plain `run` steps. Runs on the node (python 2.7 or 3, standard library only); idempotent.
# ruff: noqa: UP031, UP008, UP004, UP015, UP010, UP024, B904
from __future__ import print_function

import re

try:  # python 3
    from configparser import RawConfigParser
    from urllib.parse import unquote, urlparse
except ImportError:  # pragma: no cover - python 2.7 on Fedora 15/16
    from urllib import unquote  # type: ignore[no-redef,attr-defined]

    from ConfigParser import RawConfigParser  # type: ignore[no-redef]
    from urlparse import urlparse  # type: ignore[no-redef]

try:  # in the kickbake package (tests, build) or beside the agent on the node
    from kickbake.firstboot.actions import StepFailed, read_text, wait_for
except ImportError:  # pragma: no cover - on the node
    from actions import StepFailed, read_text, wait_for  # type: ignore[no-redef]

_FLAG = re.compile(r"^--([a-z_]+)=(.*)$")
_SAFE = re.compile(r"^[A-Za-z0-9_]+$")  # database and user names go into SQL unquoted by value


def nova_settings(path):
    """{section: {option: value}} of nova.conf: the ini file, or the Diablo-era flag file
    (`--flag=value` lines, returned as section "flags")."""
    text = read_text(path)
    if not text:
        raise StepFailed("%s is missing or empty (install-files runs before this step)" % path)
    if any(_FLAG.match(line) for line in text.splitlines()):
        flags = {}
        for line in text.splitlines():
            match = _FLAG.match(line.strip())
            if match:
                flags[match.group(1)] = match.group(2)
        return {"flags": flags}
    parser = RawConfigParser()
    parser.read([path])
    found = dict((section, dict(parser.items(section))) for section in parser.sections())
    found["DEFAULT"] = dict(parser.defaults())
    return found


def mysql_databases(settings):
    """[(database, user, password)] from the SQL connection URLs; the API database's cell0
    database (nova_cell0 next to nova) is what `nova-manage cell_v2 map_cell0` points at."""
    urls = []
    if "flags" in settings:
        urls.append(settings["flags"].get("sql_connection", ""))
    else:
        urls.append(settings.get("database", {}).get("connection", ""))
        api = settings.get("api_database", {}).get("connection", "")
        if api:
            urls.append(api)
    found = []
    for url in urls:
        parsed = urlparse(url)
        if not parsed.scheme.startswith("mysql"):
            raise StepFailed("nova.conf: expected a mysql connection URL, got %r" % parsed.scheme)
        database = parsed.path.lstrip("/").split("?")[0]
        found.append((database, unquote(parsed.username or ""), unquote(parsed.password or "")))
    if "flags" not in settings and found:
        found.append((found[0][0] + "_cell0", found[0][1], found[0][2]))
    for database, user, _ in found:
        if not (_SAFE.match(database) and _SAFE.match(user)):
            raise StepFailed("nova.conf: unexpected database or user name %r / %r" % (database, user))
    return found


def _sql_string(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def grants_sql(databases):
    """CREATE DATABASE IF NOT EXISTS + GRANT ... IDENTIFIED BY for local and remote access: the
    form MySQL 5.5 (Fedora 15) and MariaDB 10.x both take; re-running it changes nothing."""
    lines = []
    for database, user, password in databases:
        lines.append("CREATE DATABASE IF NOT EXISTS `%s`;" % database)
        for host in ("localhost", "%"):
            lines.append("GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'%s' IDENTIFIED BY %s;"
                         % (database, user, host, _sql_string(password)))
    lines.append("FLUSH PRIVILEGES;")
    return "\n".join(lines) + "\n"


def nova_db_prepare(ctx, args):
    databases = mysql_databases(nova_settings(args["config"]))
    ctx.run(["systemctl", "start", args["service"]])
    mysql = ["mysql"]  # root through the server's unix socket, as the package sets it up
    wait_for(ctx, "the database server", lambda: ctx.run(mysql + ["-e", "SELECT 1"], check=False).code == 0,
             args.get("timeout", 300))
    ctx.run(mysql, input=grants_sql(databases))  # passwords on stdin, never in argv
    return "databases %s" % ", ".join(d for d, _, _ in databases)


def rabbit_credentials(settings):
    if "flags" in settings:
        flags = settings["flags"]
        return flags.get("rabbit_userid", "guest"), flags.get("rabbit_password", "")
    parsed = urlparse(settings.get("DEFAULT", {}).get("transport_url", ""))
    if parsed.scheme != "rabbit" or not parsed.username:
        raise StepFailed("nova.conf: transport_url is not rabbit://user:password@host/")
    return unquote(parsed.username), unquote(parsed.password or "")


def rabbitmq_user(ctx, args):
    user, password = rabbit_credentials(nova_settings(args["config"]))
    ctx.run(["systemctl", "start", args["service"]])
    wait_for(ctx, "rabbitmq", lambda: ctx.run(["rabbitmqctl", "status"], check=False).code == 0,
             args.get("timeout", 300))
    listed = ctx.run(["rabbitmqctl", "-q", "list_users"]).out
    if user in [line.split()[0] for line in listed.splitlines() if line.strip()]:
        ctx.run(["rabbitmqctl", "change_password", user, password], secret=password)
        outcome = "user %s: password set again" % user
    else:
        # rabbitmqctl of Fedora 15's era takes the password only as an argument; masked in errors
        ctx.run(["rabbitmqctl", "add_user", user, password], secret=password)
        outcome = "user %s added" % user
    ctx.run(["rabbitmqctl", "set_permissions", "-p", "/", user, ".*", ".*", ".*"])
    return outcome
