"""Version ordering exactly as rpm (rpmvercmp) and dpkg (verrevcmp) order them.

Faithful ports of the C code (rpm lib/rpmvercmp.c, dpkg lib/dpkg/version.c); the tests compare
them with the real tools (`rpm --eval '%{lua:...}'`, `dpkg --compare-versions`) as the oracle."""

from __future__ import annotations

from kickbake.record.packages import PackageRecord

_DIGITS = frozenset("0123456789")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ALNUM = _DIGITS | _LETTERS


def _isdigit(char: str) -> bool:  # C's isdigit/isalpha: ASCII only, unlike str.isdigit
    return char in _DIGITS


def _isalpha(char: str) -> bool:
    return char in _LETTERS


def _cmp(a: int, b: int) -> int:
    return (a > b) - (a < b)


def rpmvercmp(a: str, b: str) -> int:
    """rpm's segment comparison: digits beat letters, '~' sorts before anything, '^' after."""
    if a == b:
        return 0
    i = j = 0
    while i < len(a) or j < len(b):
        while i < len(a) and a[i] not in _ALNUM and a[i] not in "~^":
            i += 1
        while j < len(b) and b[j] not in _ALNUM and b[j] not in "~^":
            j += 1
        for mark in "~^":
            a_mark, b_mark = i < len(a) and a[i] == mark, j < len(b) and b[j] == mark
            if a_mark or b_mark:
                if not (a_mark and b_mark):
                    if mark == "~":
                        return -1 if a_mark else 1
                    if i >= len(a):
                        return -1
                    if j >= len(b):
                        return 1
                    return -1 if a_mark else 1
                i, j = i + 1, j + 1
                break
        else:
            if not (i < len(a) and j < len(b)):
                break
            result = _segment(a, i, b, j)
            if isinstance(result, int):
                return result
            i, j = result
    if i >= len(a) and j >= len(b):
        return 0
    return -1 if i >= len(a) else 1


def _segment(a: str, i: int, b: str, j: int) -> int | tuple[int, int]:
    """Compare one alphanumeric segment; return the verdict or the positions after it."""
    numeric = _isdigit(a[i])
    take = _isdigit if numeric else _isalpha
    start_a, start_b = i, j
    while i < len(a) and take(a[i]):
        i += 1
    while j < len(b) and take(b[j]):
        j += 1
    seg_a, seg_b = a[start_a:i], b[start_b:j]
    if not seg_b:
        return 1 if numeric else -1
    if numeric:
        seg_a, seg_b = seg_a.lstrip("0"), seg_b.lstrip("0")
        if len(seg_a) != len(seg_b):
            return _cmp(len(seg_a), len(seg_b))
    if seg_a != seg_b:
        return -1 if seg_a < seg_b else 1
    return i, j


def _dpkg_order(char: str) -> int:
    if _isdigit(char):
        return 0
    if _isalpha(char):
        return ord(char)
    if char == "~":
        return -1
    return ord(char) + 256 if char else 0


def dpkg_verrevcmp(a: str, b: str) -> int:
    """dpkg's comparison of an upstream version or a revision."""
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not _isdigit(a[i])) or (j < len(b) and not _isdigit(b[j])):
            ac = _dpkg_order(a[i]) if i < len(a) else 0
            bc = _dpkg_order(b[j]) if j < len(b) else 0
            if ac != bc:
                return _cmp(ac, bc)
            i, j = i + 1, j + 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and _isdigit(a[i]) and j < len(b) and _isdigit(b[j]):
            if not first_diff:
                first_diff = _cmp(ord(a[i]), ord(b[j]))
            i, j = i + 1, j + 1
        if i < len(a) and _isdigit(a[i]):
            return 1
        if j < len(b) and _isdigit(b[j]):
            return -1
        if first_diff:
            return first_diff
    return 0


def compare_records(a: PackageRecord, b: PackageRecord) -> int:
    """-1, 0, 1 as the package manager of `a` orders the two versions (epoch, version, release)."""
    by_epoch = _cmp(a.epoch or 0, b.epoch or 0)
    if by_epoch:
        return by_epoch
    compare = rpmvercmp if a.kind == "rpm" else dpkg_verrevcmp
    return compare(a.version, b.version) or compare(a.release, b.release)
