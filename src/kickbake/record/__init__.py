"""Record stage: what went into an output and what is in an image (manifest, SBOM, lock, diff)."""
