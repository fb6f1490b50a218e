"""Run by Debian's /usr/bin/python3 (not the venv): resolve package sets with libsolv.

Why a separate process: libsolv's bindings (python3-solv) live in Debian's dist-packages for the
system Python. Putting that directory on the venv's sys.path would also expose every other
Debian Python package to kickbake and shadow the venv's pinned versions; one JSON-in/JSON-out
process through kickbake.run keeps the venv clean and costs ~50 ms. Imports only the stdlib and solv.

stdin: {"disttype": "rpm"|"deb", "arch": "x86_64", "repos": [{"name", "metadata"}], "install": [names]}
stdout: {"packages": [{name, epoch, version, release, arch, repo, checksum, location}]}
        or {"problems": ["..."]}"""

import json
import sys

import solv


def split_evr(evr):
    epoch, _, rest = evr.rpartition(":") if ":" in evr else ("", "", evr)
    version, dash, release = rest.rpartition("-")
    if not dash:
        version, release = rest, ""
    return (int(epoch) if epoch else None), version, release


def load_pool(request):
    pool = solv.Pool()
    pool.setdisttype(solv.Pool.DISTTYPE_RPM if request["disttype"] == "rpm" else solv.Pool.DISTTYPE_DEB)
    pool.setarch(request["arch"])
    pool.installed = pool.add_repo("@System")  # an empty target: resolve the whole set
    for spec in request["repos"]:
        repo = pool.add_repo(spec["name"])
        handle = solv.xfopen(spec["metadata"])
        if handle is None:
            raise SystemExit(f"cannot open {spec['metadata']}")
        ok = repo.add_rpmmd(handle, None, 0) if request["disttype"] == "rpm" else repo.add_debpackages(handle, 0)
        handle.close()
        if not ok:
            raise SystemExit(f"cannot read {spec['metadata']}: {pool.errstr}")
    pool.addfileprovides()
    pool.createwhatprovides()
    return pool


def solve(request):
    pool = load_pool(request)
    jobs, problems = [], []
    flags = solv.Selection.SELECTION_NAME | solv.Selection.SELECTION_PROVIDES
    for name in request["install"]:
        selection = pool.select(name, flags)
        if selection.isempty():
            repos = ", ".join(r["name"] for r in request["repos"])
            problems.append(f"no package named or providing {name!r} in {repos}")
        jobs += selection.jobs(solv.Job.SOLVER_INSTALL)
    if problems:
        return {"problems": problems}
    solver = pool.Solver()
    # images install without weak dependencies (apt --no-install-recommends, dnf install_weak_deps=False)
    solver.set_flag(solv.Solver.SOLVER_FLAG_IGNORE_RECOMMENDED, 1)
    found = solver.solve(jobs)
    if found:
        return {"problems": [str(p) + ": " + "; ".join(str(s) for s in p.solutions()) for p in found]}
    packages = []
    for solvable in solver.transaction().newsolvables():
        epoch, version, release = split_evr(solvable.evr)
        checksum = solvable.lookup_checksum(solv.SOLVABLE_CHECKSUM)
        location, _ = solvable.lookup_location()
        packages.append({
            "name": solvable.name, "epoch": epoch, "version": version, "release": release,
            "arch": solvable.arch, "repo": solvable.repo.name,
            "checksum": f"{checksum.typestr()}:{checksum.hex()}" if checksum else "",
            "location": location,
        })
    return {"packages": sorted(packages, key=lambda p: (p["name"], p["arch"]))}


if __name__ == "__main__":
    json.dump(solve(json.load(sys.stdin)), sys.stdout, sort_keys=True)
