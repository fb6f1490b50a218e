# placeholder, replaced below
import hashlib
import os


def bundle_hash(directory):
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                content = hashlib.sha256(handle.read()).hexdigest()
            digest.update(("%s  %s\n" % (content, os.path.relpath(path, directory))).encode("utf-8"))
    return digest.hexdigest()
