"""Render stage: model -> files (kickstarts, node config bundles, PXE trees)."""
