"""selection.py against crafted links: a `sel=` value is untrusted, so reading it is bounded in time
and memory, never raises, and says in words what it left out; encoding is bounded the same way.
A bitmask keeps the set of a large selection and its first two indices (the interpolation ends)."""
import base64
import tracemalloc

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from playground import selection
from playground.selection import MAX_POINTS, decode_selection, encode_selection, parse_selection

MAX_MASK_CHARS = 4 * -(-MAX_POINTS // 24)       # base64 characters of a bitmask over MAX_POINTS


def test_a_number_of_5000_digits_is_left_out_with_a_warning_not_an_exception():
    got = parse_selection("9" * 5000)            # int() of it raises past Python's 4,300 digits
    assert got.indices == [] and "past the last" in got.warning
    assert decode_selection("3," + "9" * 5000 + ",4") == [3, 4]


def test_an_index_past_any_map_is_left_out_with_a_warning():
    got = parse_selection("99999999999")
    assert got.indices == [] and "past the last of the 70,000 points" in got.warning
    got = parse_selection("5,70000,69999")
    assert got.indices == [5, 69_999] and got.warning.count("past the last") == 1
    got = parse_selection("5,2000,7", 2000)                   # the map's size, when known, bounds it
    assert got.indices == [5, 7] and "2,000 points" in got.warning


def test_junk_parts_and_non_ascii_digits_are_left_out_and_named():
    got = parse_selection("x,²,3,-1,٣")           # '²'.isdigit() is True, but int('²') raises
    assert got.indices == [3]
    assert "4 part(s) are not point numbers (such as `x`)" in got.warning


def test_a_link_value_in_a_message_is_a_short_code_span_nothing_in_it_is_markdown():
    """The sidebar shows warnings as Markdown: a link's text goes in as a code span, cut short,
    with no backtick or line break that could close the span and let the rest render."""
    assert selection.literal("mnist-vae") == "`mnist-vae`"
    evil = "**big** [x](http://e.vil) `code`\n\n# head :red[x] <b>" + "z" * 10_000
    shown = selection.literal(evil, 40)
    assert shown == "`**big** [x](http://e.vil) ?code???# head…`"
    assert shown.count("`") == 2 and "\n" not in shown and len(shown) == 40 + 3
    assert selection.literal("a\u202eb") == "`a?b`"                 # a bidi override is not shown
    got = parse_selection("**x**`,3")
    assert got.indices == [3] and "(such as `**x**?`)" in got.warning
    got = parse_selection("x" * 500)
    assert "(such as `" + "x" * 12 + "…`)" in got.warning


def test_an_empty_or_cut_bitmask_is_named_in_the_warning_not_dropped_silently():
    got = parse_selection("m5", 2000)                      # one base64 character: not a whole byte
    assert got.indices == [] and "stray character" in got.warning
    got = parse_selection("3,m", 2000)
    assert got.indices == [3] and "bitmask is empty" in got.warning
    got = parse_selection("m____A", 2000)                  # 3 whole bytes, all bits set, and a stray
    assert got.indices == list(range(24)) and "stray character" in got.warning


def test_a_clean_value_has_no_warning():
    assert parse_selection("5,2,9", 10) == ([5, 2, 9], None)
    assert parse_selection("") == ([], None) and parse_selection(None) == ([], None)
    assert parse_selection(encode_selection(range(0, 2000, 3), 2000), 2000).warning is None


def test_a_malformed_bitmask_is_refused_in_words():
    for bad in ("m!!not-base64", "mAB=CD", "m" + "é" * 8):
        got = parse_selection(bad, 2000)
        assert got.indices == [] and "not valid base64url" in got.warning, bad
    got = parse_selection("4,m!!", 2000)                      # the rest of the value still counts
    assert got.indices == [4] and "not valid base64url" in got.warning


def test_a_huge_bitmask_is_read_only_as_far_as_the_largest_map_goes():
    got = parse_selection("m" + "_" * 400_000)                 # all bits set, 2.4 million of them
    assert len(got.indices) == MAX_POINTS and got.indices[-1] == MAX_POINTS - 1
    assert "longer than a map of 70,000 points" in got.warning
    got = parse_selection("m" + "_" * 400_000, 2000)
    assert got.indices == list(range(2000)) and "2,000 points" in got.warning
    zeros = "m" + "A" * 4_000_000                              # 3 MB of bytes, 24 million bits
    tracemalloc.start()
    try:
        got = parse_selection(zeros)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the value is held once or twice as text (split, slice): never as 8 bytes per bit it claims
    assert got.indices == [] and peak < 2 * len(zeros), f"reading it took {peak / 2**20:.1f} MiB"


def test_encoding_is_bounded_by_the_largest_map_whatever_n_points_says():
    sel = list(range(100)) + [10**7, 60_000]
    text = encode_selection(sel, 10**8)                        # a bitmask used to be n_points bits long
    assert len(text) <= MAX_MASK_CHARS + 20
    assert decode_selection(text) == list(range(100)) + [60_000]
    text = encode_selection(list(range(0, 130, 2)), 10**8)     # sized by the largest index, not n_points
    assert text.startswith("0,2,m") and len(text) < 40


def test_a_bitmask_keeps_the_first_two_selected_in_front():
    """The first two selected are the Interpolate page's ends: a shared link keeps them."""
    sel = [1500, 7] + list(range(100, 300))
    text = encode_selection(sel, 2000)
    assert text.startswith("1500,7,m")
    back = decode_selection(text, 2000)
    assert back[:2] == [1500, 7] and sorted(back) == sorted(sel)
    assert back[2:] == sorted(back[2:])                        # past the first two: the set, by index
    old = "m" + text.split(",m", 1)[1]                         # a link without the head still reads
    assert sorted(decode_selection(old, 2000)) == sorted(sel)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2999), max_size=300, unique=True))
def test_round_trip_keeps_the_set_and_the_order_it_promises(sel):
    text = encode_selection(sel, 3000)
    got = parse_selection(text, 3000)
    assert got.warning is None and sorted(got.indices) == sorted(sel)
    if len(sel) <= selection.LIST_LIMIT:
        assert got.indices == sel                              # a list keeps the whole order
    else:
        assert got.indices[:2] == sel[:2]                      # a bitmask keeps the first two


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_reads_to_valid_indices_and_never_raises(text):
    got = parse_selection(text, 2000)
    assert all(0 <= i < 2000 for i in got.indices) and len(set(got.indices)) == len(got.indices)


def test_the_bitmask_is_base64url_of_packed_bits():
    text = encode_selection(list(range(65)) + [70], 100)
    mask = text.split(",m", 1)[1]
    bits = np.unpackbits(np.frombuffer(base64.urlsafe_b64decode(mask + "=" * (-len(mask) % 4)), np.uint8))
    assert np.flatnonzero(bits).tolist() == list(range(65)) + [70]
