"""Hostile input shared by the bad-input tests: text in every awkward form, numbers at
and past the edges, JSON texts that parsers and encoders choke on, and files in the
wrong encoding. Plain data and hypothesis strategies; nothing here touches a database."""

from __future__ import annotations

import json
import os
import random

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def examples(max_examples: int) -> settings:
    """Hypothesis settings of a bad-input test: bounded, and the same examples on every
    run (BAD_INPUT_RANDOM=1 explores new ones; BAD_INPUT_EXAMPLES=n changes the count)."""
    return settings(
        max_examples=int(os.environ.get("BAD_INPUT_EXAMPLES", max_examples)),
        deadline=None,
        derandomize=not os.environ.get("BAD_INPUT_RANDOM"),
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )


# ------------------------------------------------------------------------- text

RTL_OVERRIDE = "\u202e"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
EMOJI = "\U0001f600\U0001f3f3\ufe0f\u200d\U0001f308\U0001f468\u200d\U0001f469\u200d\U0001f467"

#: Text that is valid Unicode and storable everywhere, but awkward to show, compare or parse.
AWKWARD_TEXT = {
    "empty": "",
    "blank": " \t ",
    "rtl override": f"{RTL_OVERRIDE}gpj.exe{RTL_OVERRIDE}",
    "zero-width": f"a{ZERO_WIDTH}b",
    "emoji": EMOJI,
    "arabic": "\u0645\u0631\u062d\u0628\u0627 \u0661\u0662\u0663",
    "hebrew": "\u05e9\u05dc\u05d5\u05dd",
    "combining": "e" + "\u0301" * 200,
    "fullwidth": "\uff46\uff55\uff4c\uff4c",
    "control": "a\x01\x07\x1b[31mred\x7f",
    "newlines": "line 1\r\nline 2\rline 3\u2028line 4",
    "markup": "<script>alert(1)</script>{{ 7*7 }}{% now 'Y' %}",
    "sql": "'; DROP TABLE runs_run; --",
    "format": "%s%n%x{0}{name}",
    "path": "../../../etc/passwd",
    "numeric words": "NaN Infinity -0 1e400",
    "long": "x" * 20_000,
}

#: Text no database stores as it is: Django and the API must refuse it cleanly.
UNSTORABLE_TEXT = {
    "nul": "a\x00b",
    "lone high surrogate": "a\ud800b",
    "lone low surrogate": "\udfff",
}

ALL_TEXT = {**AWKWARD_TEXT, **UNSTORABLE_TEXT}

# ---------------------------------------------------------------------- numbers

HUGE_INT = 10**1000  # 1001 digits: Python is fine, JSON encoders and floats are not
HUGE_INT_DIGITS = "9" * 5000  # over Python's 4300-digit limit for int <-> str

EDGE_NUMBERS = [
    0,
    -1,
    2**31,
    2**53 + 1,
    2**63,
    -(2**63) - 1,
    10**30,
    HUGE_INT,
    1e308,
    -1e308,
    5e-324,
    -0.0,
    float("nan"),
    float("inf"),
    float("-inf"),
]


def nested_list(depth: int, leaf=1):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def nested_dict(depth: int, leaf=1):
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


# ------------------------------------------------------------------- JSON texts


def deep_json(depth: int) -> str:
    return '{"a": ' + "[" * depth + "]" * depth + "}"


#: JSON (or almost-JSON) texts of an object, each awkward for a different reason.
#: Keys: what is wrong; values: the text.
JSON_TEXTS = {
    "huge integer": '{"name": "Ann", "annual_income": ' + HUGE_INT_DIGITS + "}",
    "huge exponent": '{"name": "Ann", "annual_income": 1e400}',
    "NaN": '{"name": "Ann", "annual_income": NaN}',
    "Infinity": '{"name": "Ann", "x": Infinity, "y": -Infinity}',
    "nested 900 deep": deep_json(900),
    "nested 100000 deep": deep_json(100_000),
    "objects 5000 deep": '{"a":' * 5000 + "1" + "}" * 5000,
    "lone surrogate escape": '{"name": "Ann \\ud800 Lee"}',
    "lone surrogate key": '{"\\udc00": "Ann"}',
    "NUL escape": '{"name": "Ann\\u0000Lee"}',
    "raw control character": '{"name": "Ann\x01Lee"}',
    "duplicate keys": '{"name": "Ann", "name": "Bob"}',
    "awkward keys": json.dumps({RTL_OVERRIDE + "name": EMOJI, "e\u200bmail": "a@b.c", "": "empty key"}),
    "trailing garbage": '{"name": "Ann"} trailing',
    "not an object": "[1, 2, 3]",
    "a bare string": '"Ann"',
    "empty": "",
    "whitespace": "  \n ",
    "byte-order mark": '\ufeff{"name": "Ann"}',
}

# ------------------------------------------------------------------------ files

_RANDOM = random.Random(20240601)  # the same "random" bytes every run

GOOD_ROWS = [
    {"name": "Maria Garcia", "email": "maria.garcia@example.com", "date_of_birth": "1990-04-12"},
    {"name": "Jos\u00e9 N\u00fa\u00f1ez", "email": "jose@example.com", "date_of_birth": "1985-01-30"},
]
GOOD_CSV = "name,email,date_of_birth\n" + "".join(
    f"{r['name']},{r['email']},{r['date_of_birth']}\n" for r in GOOD_ROWS
)
GOOD_JSONL = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in GOOD_ROWS)

#: (filename, bytes) uploads that hold no readable application at all.
UNREADABLE_FILES = {
    "utf-16 csv": ("apps.csv", GOOD_CSV.encode("utf-16")),
    "utf-16-le jsonl without BOM": ("apps.jsonl", GOOD_JSONL.encode("utf-16-le")),
    "utf-32 jsonl": ("apps.jsonl", GOOD_JSONL.encode("utf-32")),
    "random bytes csv": ("apps.csv", _RANDOM.randbytes(4096).replace(b"\n", b"\r")),
    "random bytes jsonl": ("apps.jsonl", b"\x80\x81" + _RANDOM.randbytes(4096).replace(b"\n", b"\r")),
    "gzip as csv": ("apps.csv", b"\x1f\x8b\x08\x00" + b"\x00" * 64),
    "empty csv": ("apps.csv", b""),
    "empty jsonl": ("apps.jsonl", b""),
    "header only": ("apps.csv", b"name,email\n"),
    "duplicate header": ("apps.csv", b"name,name\nAnn,Bob\n"),
    "blank header cell": ("apps.csv", b"name,,email\nAnn,x,a@b.c\n"),
    "wrong extension": ("apps.exe", GOOD_CSV.encode()),
    "no extension": ("apps", GOOD_CSV.encode()),
    "json array": ("apps.jsonl", json.dumps(GOOD_ROWS).encode()),
    "only bad lines": (
        "apps.jsonl",
        b"\n".join(
            [
                b'{"name": ' + HUGE_INT_DIGITS.encode() + b"}",
                deep_json(900).encode(),
                deep_json(100_000).encode(),
                b'{"name": NaN}',
                b'{"name": 1e400}',
                b'{"name": "\\ud800"}',
                b'{"name": "a\\u0000b"}',
                b'{"name": "a\x00b"}',
                b"[1, 2]",
                b"\xff\xfe{}",
            ]
        ),
    ),
}

#: (filename, bytes, good rows expected) uploads that mix readable and unreadable rows.
MIXED_FILES = {
    "latin-1 row among utf-8": (
        "apps.csv",
        GOOD_CSV.encode() + "Fran\u00e7ois,f@example.com,1970-01-01\n".encode("latin-1"),
        2,
    ),
    "utf-8 BOM csv": ("apps.csv", b"\xef\xbb\xbf" + GOOD_CSV.encode(), 2),
    "crlf csv": ("apps.csv", GOOD_CSV.replace("\n", "\r\n").encode(), 2),
    "NUL byte row": ("apps.csv", GOOD_CSV.encode() + b"Ann\x00,a@b.c,1990-01-01\n", 2),
    "unterminated quote": ("apps.csv", GOOD_CSV.encode() + b'"Ann,a@b.c,1990-01-01\n', 2),
    "too many cells": ("apps.csv", GOOD_CSV.encode() + b"Ann,a@b.c,1990-01-01,extra\n", 2),
    "awkward text kept": (
        "apps.jsonl",
        GOOD_JSONL.encode()
        + json.dumps(
            {
                "name": AWKWARD_TEXT["rtl override"] + EMOJI,
                "email": "e\u200bmail@example.com",
                "notes": AWKWARD_TEXT["control"],
            }
        ).encode()
        + b"\n",
        3,
    ),
    "bad jsonl lines among good": (
        "apps.jsonl",
        GOOD_JSONL.encode() + UNREADABLE_FILES["only bad lines"][1],
        2,
    ),
}

# ------------------------------------------------------------ hypothesis strategies

edge_numbers = st.sampled_from(EDGE_NUMBERS)
any_text = st.one_of(
    st.sampled_from(list(ALL_TEXT.values())),
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8"), max_size=10),
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), edge_numbers, st.floats(), any_text)
json_like = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(any_text, inner, max_size=4)),
    max_leaves=15,
)
#: a value nested past any sane depth (plain lists or objects)
deep_values = st.builds(
    lambda depth, as_dict: nested_dict(depth) if as_dict else nested_list(depth),
    st.integers(65, 1200),
    st.booleans(),
)
garbage = st.one_of(json_like, deep_values)
