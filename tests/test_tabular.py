"""runtime/tabular.py on its own: a table declared here, read from CSV and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli import main
from runtime.tabular import (
    Column,
    Report,
    Table,
    choice,
    find,
    parse_date,
    parse_decimal,
    parse_email,
    read_table,
    text,
)
from tests.test_import import instance  # noqa: F401  (fixture: a migrated, empty instance)

# a voucher list, as a future import would declare it
VOUCHERS = Table("vouchers", {
    "code": Column("code", text(12), True),
    "holder": Column("email", parse_email),
    "value": Column("amount", parse_decimal, True),
    "valid_until": Column("valid_until", parse_date),
    "kind": Column("kind", choice(("gift", "refund"))),
}, key=("code",), lists={"uses": "a list of objects with date and place"})


def _read(tmp_path: Path, name: str, content: str | bytes) -> tuple[list, list[str]]:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    report = Report()
    rows = read_table(path, VOUCHERS, report)
    return rows, report.errors


def test_csv_rows_are_typed_by_their_columns(tmp_path):
    rows, errors = _read(tmp_path, "vouchers.csv",
                         "Code;Holder;Value;Valid_until;Kind\n"
                         "V-1; Ana@Example.com ;1.072,50;31/12/2026;GIFT\n"
                         "\n"
                         "V-2;;10;;\n")
    assert errors == []
    assert [(r.line, r.values) for r in rows] == [
        (2, {"code": "V-1", "email": "ana@example.com", "amount": 1072.5,
             "valid_until": parse_date("2026-12-31"), "kind": "gift"}),
        (4, {"code": "V-2", "email": None, "amount": 10.0, "valid_until": None, "kind": None}),
    ]


def test_latin1_and_comma_separated_csv(tmp_path):
    rows, errors = _read(tmp_path, "vouchers.csv",
                         "code,value,holder\nV-1,5,joão@example.com\n".encode("latin-1"))
    assert errors == [] and rows[0].values["email"] == "joão@example.com"


def test_every_problem_is_file_line_column_message(tmp_path):
    rows, errors = _read(tmp_path, "vouchers.csv",
                         "code;value;holder;colour\n"
                         "V-1;abc;not-an-address;red\n"
                         "V-1;5;;\n"
                         "V-2;5\n"
                         ";-1;a@example.com;x\n"
                         "V-1;7;;\n")
    assert errors == [
        "vouchers.csv:1: colour: unknown column (expected: code, holder, value, valid_until, "
        "kind)",
        'vouchers.csv:2: holder: "not-an-address" is not an e-mail address',
        'vouchers.csv:2: value: "abc" is not a number',
        "vouchers.csv:4: has 2 cells, the header has 4",
        "vouchers.csv:5: code: is required",
        "vouchers.csv:5: value: must be a positive number",
        "vouchers.csv:6: repeats the row of line 3",
    ]
    # refused rows stay (references to them are not reported twice), marked as refused
    assert [(r.line, r.ok) for r in rows] == [(2, False), (3, True), (5, False), (6, False)]


def test_a_required_column_missing_from_the_header(tmp_path):
    _, errors = _read(tmp_path, "vouchers.csv", "code\nV-1\n")
    assert errors == ["vouchers.csv:1: value: required column is missing",
                      "vouchers.csv:2: value: is required"]


def test_json_lists_of_objects(tmp_path):
    rows, errors = _read(tmp_path, "vouchers.json", json.dumps([
        {"code": "V-1", "value": 12.5, "uses": [{"date": "2026-01-02", "place": "Loja"}]},
        {"CODE": 20260001, "value": "3,5", "uses": None},
        {"code": {"a": 1}, "value": True, "holder": ["x"]},
    ]))
    assert errors == [
        "vouchers.json:2: uses: expected a list of objects with date and place",
        "vouchers.json:3: code: expected text or a number, got an object",
        "vouchers.json:3: holder: expected text or a number, got a list",
        "vouchers.json:3: value: expected text or a number, got true",
    ]
    assert rows[0].values["amount"] == 12.5 and rows[1].values["code"] == "20260001"
    assert rows[0].lists == {"uses": [{"date": "2026-01-02", "place": "Loja"}]}


@pytest.mark.parametrize("content,expected", [
    ('{"code": "V-1"}', "vouchers.json:1: expected a JSON list of objects, not one object"),
    ("null", "vouchers.json:1: expected a JSON list of objects, not null"),
    ('[{"code": "V-1"},\n 7]', "vouchers.json:1: expected a JSON list of objects: item 2 is a "
     "number"),
    ('[{"code": "V-1",\n "value": }]', "vouchers.json:2: not valid JSON: Expecting value"),
    ('[{"code": "V-1",\n "value": ' + "[" * 50_000 + "]" * 50_000 + "}]",
     "vouchers.json:2: nested more than 16 levels deep"),
    ('[{"code": "V\\u0000", "value": "1"}]', "vouchers.json:1: code: contains a NUL character"),
])
def test_unreadable_json_is_located(tmp_path, content, expected):
    rows, errors = _read(tmp_path, "vouchers.json", content)
    assert expected in errors, errors


def test_csv_limits_name_the_cell(tmp_path):
    _, errors = _read(tmp_path, "vouchers.csv", "code;value\nV-1;" + "9" * 200_000 + "\n")
    assert errors == ["vouchers.csv:2: value: longer than 131072 characters (is a quotation "
                      "mark left open?)"]
    _, errors = _read(tmp_path, "vouchers.csv", "code;value\nV-\x001;1\n")
    assert errors == ["vouchers.csv:2: code: contains a NUL character"]


def test_find_takes_csv_or_json_in_either_case(tmp_path):
    assert find(tmp_path, "vouchers") is None
    (tmp_path / "vouchers.JSON").write_text("[]")
    assert find(tmp_path, "vouchers") == tmp_path / "vouchers.JSON"


def test_a_refused_reference_is_reported_not_a_traceback(runner, instance, tmp_path):  # noqa: F811
    """A unit whose development id is refused used to crash the reference check."""
    folder = tmp_path / "erp"
    folder.mkdir()
    (folder / "units.csv").write_text(f"id;development_id;code\nU1;{'D' * 65};101\n")
    result = runner.invoke(main, ["import", str(instance), str(folder)])
    assert result.exit_code == 1 and result.exception is None or \
        isinstance(result.exception, SystemExit), result.exception
    assert "units.csv:2: development_id: longer than 64 characters" in result.output
    assert "nothing was imported" in result.output
