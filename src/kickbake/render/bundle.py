"""One node's configuration bundle being assembled: overlay files plus node.json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from kickbake.firstboot.steps import BundleFile, NodeBundle, Step
from kickbake.output import Stage
from kickbake.render.secrets import SECRET_MODE

NODES_DIR = "nodes"


@dataclass
class BundleBuilder:
    site: str
    node: str
    release: str
    files: dict[str, tuple[BundleFile, bytes]] = field(default_factory=dict)

    def add(
        self,
        path: str,
        content: str | bytes,
        *,
        mode: str = "0644",
        group: str = "root",
        secret: bool = False,
    ) -> None:
        """Add a file installed at `path` on the node; the overlay mirrors it under etc/..."""
        if path in self.files:
            raise ValueError(f"{self.node}: {path} added twice")
        data = content.encode() if isinstance(content, str) else content
        entry = BundleFile(path=path, source=path.lstrip("/"), mode=mode, group=group, secret=secret)
        self.files[path] = (entry, data)

    def bundle(self, steps: tuple[Step, ...]) -> NodeBundle:
        entries = tuple(entry for entry, _ in sorted(self.files.values(), key=lambda item: item[0].path))
        return NodeBundle(site=self.site, node=self.node, release=self.release, files=entries, steps=steps)

    def write(self, stage: Stage, steps: tuple[Step, ...]) -> list[str]:
        """Write the overlay and node.json; return the written paths relative to the stage."""
        root = f"{NODES_DIR}/{self.node}"
        written = []
        for entry, data in sorted(self.files.values(), key=lambda item: item[0].path):
            stage.write(f"{root}/{entry.source}", data, SECRET_MODE if entry.secret else 0o644)
            written.append(f"{root}/{entry.source}")
        document = json.dumps(self.bundle(steps).as_dict(), indent=2, sort_keys=True) + "\n"
        stage.write(f"{root}/node.json", document)
        written.append(f"{root}/node.json")
        return written
