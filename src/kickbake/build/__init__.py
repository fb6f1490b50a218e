"""Build stage: disk-image-create driver."""
