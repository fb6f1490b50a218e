"""liveimg kickstarts: per node, a kickstart variant that installs the node's baked image tar
(`liveimg --url=... --checksum=<sha256>`) instead of %packages, so a PXE install is one download.

The checksum is read from the tar the image build wrote, output/<site>/images/<image>.tar (carried
into every new output generation); until that file exists the variant is skipped with a note."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kickbake.hashing import sha256_file
from kickbake.model.plan import NodeView, SitePlan
from kickbake.model.types import ImageType
from kickbake.render.pxe_view import base_url, image_of

TEMPLATE = "node-liveimg.ks.j2"  # rendered by render_kickstart(..., image=BakedImage)
SUFFIX = "-liveimg"


@dataclass(frozen=True)
class BakedImage:
    """A built image tar, as a kickstart refers to it."""

    name: str
    file: str  # relative to output/<site>/
    url: str
    sha256: str

    @property
    def image_id(self) -> str:
        """What the node records: the tar's own checksum names exactly the bits it got."""
        return f"sha256:{self.sha256}"


@cache
def _sha256_cached(path: Path, size: int, mtime_ns: int, inode: int) -> str:
    return sha256_file(path)


def _sha256(path: Path) -> str:
    # an image tar is hundreds of MB: hash it once per content change, not once per render
    stat = path.stat()
    return _sha256_cached(path.resolve(), stat.st_size, stat.st_mtime_ns, stat.st_ino)


def liveimg_relative(node: str) -> str:
    return f"kickstarts/{node}{SUFFIX}.ks"


def baked_image(site_plan: SitePlan, node: NodeView, site_dir: Path) -> BakedImage | str:
    """The node's built image tar, or why there is no liveimg variant for it."""
    ks = node.release.kickstart
    if ks is None:
        return f"{node.release.pretty} has no anaconda"
    if not ks.liveimg:
        return f"{node.release.pretty}'s anaconda has no liveimg command"
    return image_tar(site_plan, node, site_dir)


def image_tar(site_plan: SitePlan, node: NodeView, site_dir: Path) -> BakedImage | str:
    """The built tar of the node's image, or why there is none to install from."""
    pxe = site_plan.site.pxe
    image = image_of(site_plan, node)
    if image is None:
        return "no image names the node's roles"
    if ImageType.TAR not in image.types:
        return f"image {image.name} is not baked as tar (add tar to images[].types)"
    if pxe is None:
        return "no pxe: section, so no URL to fetch the image from"
    relative = f"images/{image.name}.tar"
    tar = site_dir / relative
    if not tar.is_file():
        return f"image {image.name} is not built yet ({relative}; run ./kb build --type tar)"
    url = f"{base_url(pxe)}/{site_plan.site.site}/{relative}"
    return BakedImage(name=image.name, file=relative, url=url, sha256=_sha256(tar))
