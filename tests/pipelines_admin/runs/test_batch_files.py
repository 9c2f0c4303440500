import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines_admin.runs.batch_files import (
    UnreadableFile,
    file_format,
    parse_batch_file,
    parse_csv,
    parse_jsonl,
)


def test_parse_jsonl__good_and_bad_lines__good_kept_bad_reported_by_line():
    # Given a JSONL file with a good line, an array, broken JSON, a blank line, NaN and bad UTF-8
    data = b'{"name": "Ann"}\n[1, 2]\n{broken\n\n{"score": NaN}\n\xff{"a": 1}\n{"name": "Bob"}\n'
    # When parsed
    parsed = parse_batch_file("apps.jsonl", data)
    # Then the two good records are kept with their line numbers, and each bad line is named
    assert parsed.records == [(1, {"name": "Ann"}), (7, {"name": "Bob"})]
    assert [r["line"] for r in parsed.rejected] == [2, 3, 5, 6]
    assert parsed.rejected[0]["reason"] == "expected a JSON object, found list"
    assert parsed.rejected[1]["reason"].startswith("not valid JSON")
    assert "UTF-8" in parsed.rejected[3]["reason"]


def test_parse_jsonl__reasons__never_quote_the_content():
    # Given a broken line holding personal data
    parsed = parse_jsonl(b'{"ssn": "123-45-6789", oops}\n')
    # Then the reason does not repeat it
    assert "123-45-6789" not in parsed.rejected[0]["reason"]


def test_parse_csv__quoted_newline_and_short_row__line_numbers_of_row_starts():
    # Given a CSV with a BOM, a quoted value spanning two lines and a row with too few values
    data = '\ufeffname,email\nAnn,a@example.com\n"Bob\nJunior",b@example.com\nCarol\nDan,\n'.encode()
    # When parsed
    parsed = parse_csv(data)
    # Then rows keep the line they start on; empty values are left out; the short row is reported
    assert parsed.records == [
        (2, {"name": "Ann", "email": "a@example.com"}),
        (3, {"name": "Bob\nJunior", "email": "b@example.com"}),
        (6, {"name": "Dan"}),
    ]
    assert parsed.rejected == [{"line": 5, "reason": "has 1 value; the header has 2 columns"}]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"a,a\n1,2\n", "every column once"),
        (b",b\n1,2\n", "every column once"),
    ],
)
def test_parse_csv__bad_header__whole_file_refused(data, message):
    with pytest.raises(UnreadableFile, match=message):
        parse_csv(data)


def test_file_format__other_extension__refused_with_the_accepted_ones():
    assert file_format("A.CSV") == "csv" and file_format("x.ndjson") == "jsonl"
    with pytest.raises(UnreadableFile, match=r"\.csv file .* \.jsonl file"):
        file_format("applications.xlsx")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["x.csv", "x.jsonl"]))
def test_parse_batch_file__any_bytes__records_or_line_numbered_rejections_never_a_crash(data, name):
    # Given any bytes at all / When parsed / Then it either refuses the whole file clearly, or
    # every line is accounted for as a record or a rejection with a valid line number
    try:
        parsed = parse_batch_file(name, data)
    except UnreadableFile:
        return
    lines = data.count(b"\n") + 1
    for line, record in parsed.records:
        assert 1 <= line <= lines and isinstance(record, dict)
    for row in parsed.rejected:
        assert 1 <= row["line"] <= lines and row["reason"]
