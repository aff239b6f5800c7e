"""io's count of control characters (a binary file is refused, E103): counted in C on the text's UTF-8."""
from __future__ import annotations

import random
import re

import pytest

from notechecker.errors import InputError
from notechecker.io import _control_count, decode

CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")  # the characters that do not occur in text


def test_control_characters_counted_as_a_scan_counts_them():
    rng = random.Random(7)
    alphabet = [chr(i) for i in range(0x30)] + ["\u00e9", "\u2028", "\x7f", "\x85", "\U0001f600", "\ud800", "a"]
    for _ in range(3000):
        t = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert _control_count(t) == len(CONTROL.findall(t))


def test_a_text_with_many_control_characters_is_refused_and_a_few_are_kept():
    body = "Operative note: L4-L5 fusion.\n" * 20
    assert decode((body + "\x01\x02").encode(), "n.txt")[0] == body + "\x01\x02"
    with pytest.raises(InputError) as err:
        decode((body + "\x01" * 40).encode(), "n.txt")
    assert err.value.code == "E103" and "40 control characters" in str(err.value)
    assert decode(("\u00e9" + body + "\x1f").encode("cp1252"), "n.txt")[1] == "cp1252"
