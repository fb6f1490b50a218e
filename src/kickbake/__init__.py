"""kickbake: one site inventory -> kickstarts, node configs, images, PXE and SBOMs."""

__version__ = "0.1.0"
