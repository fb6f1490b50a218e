# The first-boot actions that make an OpenStack controller, in the install guides' order (Zed/Epoxy):
# every service's database and user, Nova's RabbitMQ user, Keystone's bootstrap and the service
# project, users, roles, services and endpoints. Every password is read from the node's own config
# files (installed as secret files of the bundle), so none travels in node.json or reaches a log.
# The manage commands (db sync, cells) are plain `run` steps. Runs on the node (python 2.7 or 3,
# standard library only); every action is idempotent.
# ruff: noqa: UP031, UP004, UP010, B904
from __future__ import print_function

import json
import re

try:  # python 3
    from configparser import RawConfigParser
    from urllib.error import HTTPError, URLError
    from urllib.parse import unquote, urlencode, urlparse
    from urllib.request import Request, urlopen
except ImportError:  # pragma: no cover - python 2.7 on Fedora 15/16
    from urllib import unquote, urlencode  # type: ignore[no-redef,attr-defined]

    from ConfigParser import RawConfigParser  # type: ignore[no-redef]
    from urllib2 import HTTPError, Request, URLError, urlopen  # type: ignore[no-redef]
    from urlparse import urlparse  # type: ignore[no-redef]

try:  # in the kickbake package (tests, build) or beside the agent on the node
    from kickbake.firstboot.actions import StepFailed, read_text, wait_for
except ImportError:  # pragma: no cover - on the node
    from actions import StepFailed, read_text, wait_for  # type: ignore[no-redef]

_FLAG = re.compile(r"^--([a-z_]+)=(.*)$")
_SAFE = re.compile(r"^[A-Za-z0-9_]+$")  # database and user names go into SQL unquoted by value
_CONNECTION_OPTIONS = ("connection", "sql_connection")


def nova_settings(path):
    """{section: {option: value}} of an OpenStack config: an ini file, or the Diablo-era flag file
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
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep option names as written
    parser.read([path])
    found = dict((section, dict(parser.items(section))) for section in parser.sections())
    found["DEFAULT"] = dict(parser.defaults())
    return found


def mysql_databases(settings):
    """[(database, user, password)] from every SQL connection option of a config (Nova's
    [database] and [api_database], Placement's [placement_database], Diablo's sql_connection).
    Where there is an API database, its cell0 database (nova_cell0 next to nova) is what
    `nova-manage cell_v2 map_cell0` points at."""
    urls = []
    for section in sorted(settings):
        for option in _CONNECTION_OPTIONS:
            if settings[section].get(option):
                urls.append((section, settings[section][option]))
    found = []
    for section, url in urls:
        parsed = urlparse(url)
        if not parsed.scheme.startswith("mysql"):
            raise StepFailed("[%s]: expected a mysql connection URL, got %r" % (section, parsed.scheme))
        database = parsed.path.lstrip("/").split("?")[0]
        found.append((section, (database, unquote(parsed.username or ""), unquote(parsed.password or ""))))
    databases = [entry for _, entry in found]
    main = [entry for section, entry in found if section == "database"]
    if "api_database" in settings and main:
        databases.append((main[0][0] + "_cell0", main[0][1], main[0][2]))
    for database, user, _ in databases:
        if not (_SAFE.match(database) and _SAFE.match(user)):
            raise StepFailed("unexpected database or user name %r / %r" % (database, user))
    return databases


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


def config_databases(paths):
    """The databases of several configs, each once; one user must have one password everywhere."""
    databases, passwords = [], {}  # type: list[tuple[str, str, str]], dict[str, str]
    for path in paths:
        for database, user, password in mysql_databases(nova_settings(path)):
            if passwords.setdefault(user, password) != password:
                raise StepFailed("%s: database user %s has another password in an earlier config" % (path, user))
            if (database, user, password) not in databases:
                databases.append((database, user, password))
    return databases


def sql_databases(ctx, args):
    databases = config_databases(args["configs"])
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


# --- Keystone ---------------------------------------------------------------------------------

def read_openrc(path):
    """{name: value} of an openrc file's `export NAME=value` lines (kickbake writes one per line)."""
    found = {}
    for line in read_text(path).splitlines():
        match = re.match(r"^export ([A-Z_]+)=(.*)$", line.strip())
        if match:
            found[match.group(1)] = match.group(2)
    if not found.get("OS_PASSWORD") or not found.get("OS_AUTH_URL"):
        raise StepFailed("%s has no OS_AUTH_URL and OS_PASSWORD (install-files runs before this step)" % path)
    return found


def keystone_bootstrap(ctx, args):
    """keystone-manage bootstrap (admin project, user and role, the identity service and its
    endpoints); idempotent, it sets the admin password again. The password goes in its
    environment (OS_BOOTSTRAP_PASSWORD), never in argv."""
    password = read_openrc(args["openrc"])["OS_PASSWORD"]
    ctx.run(list(args["argv"]), env={"OS_BOOTSTRAP_PASSWORD": password}, secret=password)
    return "admin bootstrapped"


def service_users(users):
    """[(name, password)] of the services' Keystone users, read from their configs."""
    found = {}  # type: dict[str, str]
    for entry in users:
        section = nova_settings(entry["config"]).get(entry["section"], {})
        name, password = section.get(entry["user_option"]), section.get(entry["password_option"])
        if not name or not password:
            raise StepFailed("%s: [%s] has no %s/%s" % (entry["config"], entry["section"], entry["user_option"],
                                                        entry["password_option"]))
        if found.setdefault(name, password) != password:
            raise StepFailed("%s: Keystone user %s has another password in an earlier config" % (entry["config"], name))
    return sorted(found.items())


class Keystone(object):
    """The few calls of Keystone's v3 API that registration needs (standard library only)."""

    def __init__(self, openrc, timeout=120):
        self.url = openrc["OS_AUTH_URL"].rstrip("/")
        self.timeout = timeout
        self.secrets = [openrc["OS_PASSWORD"]]
        self.token = None
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": openrc.get("OS_USERNAME", "admin"), "password": openrc["OS_PASSWORD"],
            "domain": {"name": openrc.get("OS_USER_DOMAIN_NAME", "Default")}}}},
            "scope": {"project": {"name": openrc.get("OS_PROJECT_NAME", "admin"),
                                  "domain": {"name": openrc.get("OS_PROJECT_DOMAIN_NAME", "Default")}}}}}
        self.token = self.call("POST", "/auth/tokens", body, header="X-Subject-Token")

    def call(self, method, path, body=None, header=None):
        request = Request(self.url + path, data=json.dumps(body).encode("utf-8") if body is not None else None)
        request.get_method = lambda: method  # type: ignore[method-assign]
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("X-Auth-Token", self.token)
        try:
            response = urlopen(request, timeout=self.timeout)
        except HTTPError as error:
            text = error.read().decode("utf-8", "replace")[:300]
            for secret in self.secrets:
                text = text.replace(secret, "********")
            raise StepFailed("Keystone %s %s: HTTP %d %s" % (method, path, error.code, text))
        except URLError as error:
            raise StepFailed("Keystone %s %s: %s" % (method, path, error.reason))
        if header:
            return response.info().get(header)
        data = response.read()
        return json.loads(data.decode("utf-8")) if data else {}

    def find(self, kind, **query):
        return self.call("GET", "/%s?%s" % (kind, urlencode(sorted(query.items()))))[kind]

    def ensure(self, kind, entity, **query):
        """The id of the one `kind` matching `query`, created from `entity` if there is none."""
        found = self.find(kind, **query)
        if found:
            return found[0]["id"], False
        return self.call("POST", "/" + kind, {kind[:-1]: entity})[kind[:-1]]["id"], True


def keystone_register(ctx, args):
    """The service project, each service's user (password set again from its config) with the
    admin and service roles there, each service with its public/internal/admin endpoints."""
    openrc = read_openrc(args["openrc"])
    users = service_users(args["users"])
    keystone = Keystone(openrc)
    keystone.secrets.extend(password for _, password in users)
    created = []
    project, new = keystone.ensure("projects", {"name": args["project"], "domain_id": "default",
                                                "description": "OpenStack services"},
                                   name=args["project"], domain_id="default")
    created += ["project %s" % args["project"]] if new else []
    roles = []
    for role in args["roles"]:
        role_id, new = keystone.ensure("roles", {"name": role}, name=role)
        roles.append(role_id)
        created += ["role %s" % role] if new else []
    for name, password in users:
        found = keystone.find("users", name=name, domain_id="default")
        if found:
            keystone.call("PATCH", "/users/%s" % found[0]["id"], {"user": {"password": password}})
            user_id = found[0]["id"]
        else:
            user_id = keystone.call("POST", "/users", {"user": {"name": name, "password": password,
                                                                "domain_id": "default"}})["user"]["id"]
            created.append("user %s" % name)
        for role_id in roles:
            keystone.call("PUT", "/projects/%s/users/%s/roles/%s" % (project, user_id, role_id))
    for service in args["services"]:
        service_id, new = keystone.ensure("services", {"name": service["name"], "type": service["type"]},
                                          type=service["type"])
        created += ["service %s" % service["type"]] if new else []
        for interface in ("public", "internal", "admin"):
            found = keystone.find("endpoints", service_id=service_id, interface=interface,
                                  region_id=args["region"])
            entity = {"service_id": service_id, "interface": interface, "region_id": args["region"],
                      "url": service["url"]}
            if not found:
                keystone.call("POST", "/endpoints", {"endpoint": entity})
                created.append("%s %s endpoint" % (service["type"], interface))
            elif found[0]["url"] != service["url"]:
                keystone.call("PATCH", "/endpoints/%s" % found[0]["id"], {"endpoint": {"url": service["url"]}})
    return "%d users, %d services; created: %s" % (len(users), len(args["services"]), ", ".join(created) or "none")


def keystone_manage_register(ctx, args):
    """Diablo (2011.3): keystone-manage adds tenants, users, roles, services and endpoint
    templates (it has no bootstrap and no v3 API). What its `list` commands show is skipped."""
    openrc = read_openrc(args["openrc"])
    admin = openrc.get("OS_USERNAME", "admin")
    users = [(admin, openrc["OS_PASSWORD"])] + service_users(args["users"])
    manage = ["keystone-manage"]

    def listed(kind):
        return ctx.run(manage + [kind, "list"]).out.split()

    for tenant in (openrc.get("OS_TENANT_NAME", "admin"), args["project"]):
        if tenant not in listed("tenant"):
            ctx.run(manage + ["tenant", "add", tenant])
    for role in args["roles"]:
        if role not in listed("role"):
            ctx.run(manage + ["role", "add", role])
    known = listed("user")
    for name, password in users:
        if name not in known:  # keystone-manage of 2011 takes the password only as an argument; masked in errors
            tenant = openrc.get("OS_TENANT_NAME", "admin") if name == admin else args["project"]
            ctx.run(manage + ["user", "add", name, password, tenant], secret=password)
        for role in args["roles"]:
            ctx.run(manage + ["role", "grant", role, name], check=False)  # exits non-zero when already granted
    services = listed("service")
    for service in args["services"]:
        if service["name"] not in services:
            ctx.run(manage + ["service", "add", service["name"], service["type"], "%s service" % service["type"]])
            url = service["url"].replace("%(tenant_id)s", "%tenant_id%")
            ctx.run(manage + ["endpointTemplates", "add", args["region"], service["name"], url, url, url, "1", "1"])
    return "%d users, %d services" % (len(users), len(args["services"]))


def http_wait(ctx, args):
    """Wait until every URL answers HTTP (any status: 401 from an API that wants a token is up)."""
    def answers(url):
        try:
            urlopen(url, timeout=10)
        except HTTPError:
            return True
        except Exception:  # noqa: BLE001 - refused, reset, timed out: not up yet
            return False
        return True

    for url in args["urls"]:
        wait_for(ctx, url, lambda url=url: answers(url), args.get("timeout", 600))
    return "%d APIs answer" % len(args["urls"])
