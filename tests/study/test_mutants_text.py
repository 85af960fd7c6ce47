"""study.basics.text to the character: the mutants that the tests using it let through
(docs/testing.md, python scripts/mutation.py) each change one of these outputs."""

import math

import numpy as np

from study.basics.text import exact_text, format_table, set_text, value_text, wrap_parts


def test_value_text_none_nan_repr_and_digits():
    assert value_text(None) == value_text(math.nan) == "none"
    assert value_text(0.1) == "0.1" and value_text(np.float32(0.5)) == "0.5" and value_text(5) == "5"
    assert value_text(1 / 3, 3) == "0.333" and value_text(1 / 3, 3, exact=True) == repr(1 / 3)
    assert value_text(100.0, 3, exact=True) == "100" and value_text("RNN") == "RNN"


def test_exact_text_keeps_six_digits_only_where_they_are_the_value():
    assert exact_text(100.0) == "100"  # six digits are the value: the short form, not repr's 100.0
    assert exact_text(1 / 3) == repr(1 / 3)  # 0.333333 is not 1/3: every digit
    assert exact_text(1234567.0) == "1234567.0"  # six digits (1.23457e+06) are not the value; seven would be
    assert exact_text(1e-05) == "1e-05" and exact_text(64) == "64"


def test_set_text_short_or_in_full():
    assert set_text([64, 100.0]) == "{64, 100}"
    assert set_text([64, 100.0], short=False) == "{64, 100.0}"


def test_wrap_parts_joins_breaks_at_the_width_and_strips_the_ends():
    assert wrap_parts(["a", "b", "c"], ", ", "x: ", "   ") == ["x: a, b, c"]
    assert wrap_parts(["aaa", "bbb"], ", ", "x: ", "   ", width=11) == ["x: aaa, bbb"]  # exactly the width
    assert wrap_parts(["aaa", "bbb"], ", ", "x: ", "   ", width=10) == ["x: aaa,", "   bbb"]


def test_format_table_aligns_left_and_splits_into_blocks_at_the_width():
    columns, rows = ["a", "bb"], [[1, 22], [333, 4]]
    assert format_table(columns, rows, width=10, index="i") == ["i  a    bb", "0  1    22", "1  333  4"]
    assert format_table(columns, rows, width=9, index="i") == ["i  a", "0  1", "1  333", "i  bb", "0  22", "1  4"]


def test_format_table_right_aligns_the_index():
    lines = format_table(["v"], [[c] for c in "abcdefghijk"], index="n")
    assert lines[:2] == [" n  v", " 0  a"] and lines[-1] == "10  k"


def test_format_table_has_no_index_header_by_default():
    assert format_table(["v"], [["a"]]) == ["   v", "0  a"]
