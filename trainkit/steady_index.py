"""The same pages, the same search index: Pagefind's filter files put in a fixed order.

Pagefind writes each filter's values (``course``, ``tag``), and the list of filters in
its metadata, in the order of a Rust hash map, which changes from run to run; the files
are named by a hash of their content, so two clean builds of the same site gave two
different ``pagefind/`` folders (and a deploy that changed files nobody had edited).
Here each filter file's values are sorted, and the metadata's list of filters, and the
files are named again by their new content: the metadata file, whose name
``pagefind-entry.json`` gives, included.

The files are gzip-compressed CBOR after a 12-byte signature. Only what Pagefind 1.x
writes is read (arrays, strings, integers, maps); anything else leaves the index as
Pagefind made it, which is never wrong, only not reproducible.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any

SIGNATURE = b"pagefind_dcd"


class _Unknown(Exception):
    """Not a file as Pagefind 1.x writes it."""


def steady(files: dict[str, bytes]) -> dict[str, bytes]:
    """``files`` (one Pagefind bundle, by path) with filters in a fixed order."""
    try:
        entry = json.loads(files["pagefind-entry.json"])
        renamed: dict[str, str] = {}  # old hash → new, of filter files
        out = dict(files)
        for name, content in files.items():
            if name.startswith("filter/") and name.endswith(".pf_filter"):
                old = name[len("filter/"):-len(".pf_filter")]
                filter_name, values = _read(content)
                data = _write([filter_name, sorted(values, key=_value_key)])
                new = _name(old, data, 7)
                del out[name]
                out[f"filter/{new}.pf_filter"] = data
                renamed[old] = new
        for language in entry["languages"].values():
            old = language["hash"]
            meta_name = f"pagefind.{old}.pf_meta"
            meta = _read(files[meta_name])
            filters = meta[3]
            if not isinstance(filters, list):
                raise _Unknown("filters")
            meta[3] = sorted(([f[0], renamed.get(f[1], f[1])] for f in filters),
                             key=lambda f: str(f[0]))
            data = _write(meta)
            new = _name(old, data, 10)
            del out[meta_name]
            out[f"pagefind.{new}.pf_meta"] = data
            language["hash"] = new
        out["pagefind-entry.json"] = json.dumps(
            entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return out
    except (_Unknown, KeyError, IndexError, TypeError, ValueError, OSError, EOFError):
        return files


def _value_key(value: Any) -> str:
    if not isinstance(value, list) or not value:
        raise _Unknown("filter value")
    return str(value[0])


def _name(old: str, data: bytes, length: int) -> str:
    """``en_3ea69dc``: the language part of the old name, and a hash of the content."""
    language = old.rpartition("_")[0]
    if not language:
        raise _Unknown(old)
    return f"{language}_{hashlib.sha256(data).hexdigest()[:length]}"


def _read(content: bytes) -> Any:
    data = gzip.decompress(content)
    if not data.startswith(SIGNATURE):
        raise _Unknown("signature")
    value, end = _decode(data, len(SIGNATURE))
    if end != len(data):
        raise _Unknown("trailing bytes")
    return value


def _write(value: Any) -> bytes:
    out = bytearray(SIGNATURE)
    _encode(value, out)
    return gzip.compress(bytes(out), mtime=0)


def _decode(data: bytes, at: int) -> tuple[Any, int]:
    head = data[at]
    major, info = head >> 5, head & 31
    at += 1
    if info < 24:
        n = info
    elif info <= 27:
        size = 1 << (info - 24)
        n, at = int.from_bytes(data[at:at + size], "big"), at + size
    else:
        raise _Unknown(f"CBOR head {head:#x}")
    if major == 0:
        return n, at
    if major == 1:
        return -1 - n, at
    if major == 2:
        return bytes(data[at:at + n]), at + n
    if major == 3:
        return data[at:at + n].decode("utf-8"), at + n
    if major == 4:
        items = []
        for _ in range(n):
            item, at = _decode(data, at)
            items.append(item)
        return items, at
    if major == 5:
        pairs = {}
        for _ in range(n):
            key, at = _decode(data, at)
            pairs[key], at = _decode(data, at)
        return pairs, at
    raise _Unknown(f"CBOR type {major}")


def _head(major: int, n: int, out: bytearray) -> None:
    if n < 24:
        out.append(major << 5 | n)
        return
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            out.append(major << 5 | info)
            out += n.to_bytes(size, "big")
            return
    raise _Unknown("integer too large")


def _encode(value: Any, out: bytearray) -> None:
    if isinstance(value, bool) or value is None:
        raise _Unknown("simple value")
    if isinstance(value, int):
        _head(0, value, out) if value >= 0 else _head(1, -1 - value, out)
    elif isinstance(value, bytes):
        _head(2, len(value), out)
        out += value
    elif isinstance(value, str):
        data = value.encode("utf-8")
        _head(3, len(data), out)
        out += data
    elif isinstance(value, list):
        _head(4, len(value), out)
        for item in value:
            _encode(item, out)
    elif isinstance(value, dict):
        _head(5, len(value), out)
        for key, item in value.items():
            _encode(key, out)
            _encode(item, out)
    else:
        raise _Unknown(type(value).__name__)
