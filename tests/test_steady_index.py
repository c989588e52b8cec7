"""Pagefind's filter files in a fixed order (trainkit.steady_index); the reproducible
builds themselves are tested in test_build.py."""

from __future__ import annotations

import gzip

from trainkit.steady_index import SIGNATURE, _read, _write, steady


def test_it_reads_and_writes_pagefind_s_cbor_exactly():
    value = ["1.5.2", [["en_2de7ad7", 160], ["en_a49dba1", 65536]], [["course", "en_3ea6"]],
             [], ["title"], {"k": -3, "b": b"\x00\xff", "long": "x" * 300}]
    data = _write(value)
    assert gzip.decompress(data).startswith(SIGNATURE)
    assert _read(data) == value
    assert _write(_read(data)) == data


def test_filter_values_and_the_filters_list_are_sorted_and_renamed():
    filters = {
        "filter/en_aaaaaaa.pf_filter": _write(["tag", [["zeta", [1]], ["alpha", [0, 2]]]]),
        "filter/en_bbbbbbb.pf_filter": _write(["course", [["Basics", [0, 1, 2]]]]),
    }
    files = {
        **filters,
        "pagefind.en_0123456789.pf_meta": _write(
            ["1.5.2", [], [], [["tag", "en_aaaaaaa"], ["course", "en_bbbbbbb"]], [], []]),
        "pagefind-entry.json": b'{"version":"1.5.2","languages":{"en":{"hash":"en_0123456789",'
                               b'"wasm":"en","page_count":3}}}',
        "fragment/en_x.pf_fragment": b"untouched",
    }
    out = steady(files)
    assert out["fragment/en_x.pf_fragment"] == b"untouched"
    entry = out["pagefind-entry.json"].decode()
    meta_hash = entry.split('"hash":"')[1].split('"')[0]
    meta = _read(out[f"pagefind.{meta_hash}.pf_meta"])
    assert [name for name, _ in meta[3]] == ["course", "tag"]
    tag_file = out[f"filter/{dict(meta[3])['tag']}.pf_filter"]
    assert _read(tag_file) == ["tag", [["alpha", [0, 2]], ["zeta", [1]]]]
    assert not set(filters) & set(out)  # renamed by their new content
    # The same filters in the other order give the very same files.
    swapped = {**files, "pagefind.en_0123456789.pf_meta": _write(
        ["1.5.2", [], [], [["course", "en_bbbbbbb"], ["tag", "en_aaaaaaa"]], [], []])}
    assert steady(swapped) == out


def test_an_index_it_does_not_know_is_left_as_it_is():
    files = {"pagefind-entry.json": b'{"languages":{"en":{"hash":"en_1"}}}',
             "pagefind.en_1.pf_meta": gzip.compress(b"something else")}
    assert steady(files) == files
    assert steady({"nothing": b""}) == {"nothing": b""}
