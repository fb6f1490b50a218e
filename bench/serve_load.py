"""Load on `./kb serve`: N requests from C concurrent clients (PXE files + Range requests on a file),
printing requests/s. Usage:

    python bench/serve_load.py http://127.0.0.1:8080 lab-el9 [--requests 1000] [--clients 50]

The site must be rendered and served; Range requests go to --file (default pxe/grubnetx64.efi).
tests/integration/test_serve.py runs the same load against a real `kickbake serve` process."""

from __future__ import annotations

import argparse
import http.client
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    requests: int
    seconds: float
    failures: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def request_plan(kickstarts: list[str], ranged_file: str, size: int, total: int) -> list[tuple[str, str | None, int]]:
    """(path, Range header, expected length) for each request: every other one a Range request."""
    plan = []
    for index in range(total):
        if index % 2:
            first = (index * 7919) % max(size - 4096, 1)
            plan.append((ranged_file, f"bytes={first}-{first + 4095}", min(4096, size - first)))
        else:
            plan.append((kickstarts[index // 2 % len(kickstarts)], None, -1))
    return plan


def _one(base: str, path: str, range_header: str | None, expected: int) -> str | None:
    """One request on its own connection; an error text, or None when it was right."""
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request("GET", path, headers={"Range": range_header} if range_header else {})
        response = connection.getresponse()
        body = response.read()
        want = 206 if range_header else 200
        if response.status != want:
            return f"{path} {range_header}: HTTP {response.status}"
        if expected >= 0 and len(body) != expected:
            return f"{path} {range_header}: {len(body)} bytes, wanted {expected}"
        if not range_header and not body:
            return f"{path}: empty body"
        return None
    except OSError as error:
        return f"{path} {range_header}: {error}"
    finally:
        connection.close()


def run_load(base: str, plan: list[tuple[str, str | None, int]], clients: int) -> LoadResult:
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        outcomes = list(pool.map(lambda item: _one(base, *item), plan))
    seconds = time.monotonic() - start
    return LoadResult(len(plan), seconds, [o for o in outcomes if o])


def _discover(base: str, site: str, ranged: str) -> tuple[list[str], str, int]:
    """Kickstart and PXE paths to hit, and the size of the file for Range requests."""
    kickstarts = [f"/{site}/pxe/pxelinux.cfg/default", f"/{site}/pxe/ipxe/boot.ipxe", f"/{site}/pxe/dnsmasq.conf"]
    url = urlsplit(base)
    # kickstarts are served to their own node's addresses only, so a load from here gets the PXE files
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.request("HEAD", ranged)
    size = int(connection.getresponse().getheader("Content-Length") or 0)
    connection.close()
    return kickstarts, ranged, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="http://address:port of kickbake serve")
    parser.add_argument("site")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--file", default="pxe/grubnetx64.efi", help="file for Range requests, below /<site>/")
    args = parser.parse_args()
    kickstarts, ranged, size = _discover(args.base, args.site, f"/{args.site}/{args.file}")
    result = run_load(args.base, request_plan(kickstarts, ranged, size, args.requests), args.clients)
    print(f"{result.requests} requests, {args.clients} clients: {result.seconds:.2f} s, "
          f"{result.per_second:.0f} requests/s, {len(result.failures)} failed")
    for failure in result.failures[:10]:
        print(f"  {failure}")


if __name__ == "__main__":
    main()
