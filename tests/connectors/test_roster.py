"""The HR roster file: CSV or JSON as HR systems export them, read into person records, and every
malformed roster refused with one line naming the file, the line and the column (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from foureyes.collect import collect
from foureyes.config import parse_config
from foureyes.errors import InputFileError
from foureyes.model import Kind

CSV = """\ufeffWork Email,Full Name,Employment Status,Manager Email,Department,Hire Date,Termination Date
carmen@acme.com,Carmen Castillo,Active,,Executive,2019-01-07,
wanda.webb@acme.com,Wanda Webb,Active,carmen@acme.com,Web,2021-02-01,
omar.osman@acme.com,Omar Osman,Terminated,wanda.webb@acme.com,Web,2022-03-01,2026-10-23
sam.sato@acme.com,Sam Sato,On Leave,wanda.webb@acme.com,Platform,2022-05-01,

fatima.farouk@acme.com,"Farouk, Fatima",Active,wanda.webb@acme.com,Data,2023-01-09,2026-10-30
"""
COLUMNS = """
[sources.roster.columns]
email = "Work Email"
name = "Full Name"
status = "Employment Status"
manager = "Manager Email"
department = "Department"
start = "Hire Date"
end = "Termination Date"
[sources.roster.statuses]
suspended = ["on leave"]
"""


def _collect(tmp_path: Path, name: str, text: str, extra: str = "") -> object:
    (tmp_path / name).write_text(text, encoding="utf-8")
    config_path = tmp_path / "foureyes.toml"
    config_path.write_text(f'[sources.roster]\npath = "{name}"\n{extra}', encoding="utf-8")
    config = parse_config(config_path.read_text(encoding="utf-8"), str(config_path))
    (result,) = collect(config, ["roster"])
    return result


def test_a_csv_export_with_its_own_column_names(tmp_path):
    result = _collect(tmp_path, "hr.csv", CSV, COLUMNS)
    people = {p.email: p.attrs for p in result.principals}
    assert all(p.kind == Kind.PERSON for p in result.principals)
    assert {e: a["status"] for e, a in people.items()} == {
        "carmen@acme.com": "active", "wanda.webb@acme.com": "active", "omar.osman@acme.com": "terminated",
        "sam.sato@acme.com": "suspended", "fatima.farouk@acme.com": "active"}  # the end date decides later
    assert people["omar.osman@acme.com"]["end"] == "2026-10-23"
    assert people["fatima.farouk@acme.com"]["manager"] == "wanda.webb@acme.com"
    assert people["fatima.farouk@acme.com"]["line"] == 7  # the blank line is counted, and skipped
    assert next(p for p in result.principals if p.email == "fatima.farouk@acme.com").display_name == "Farouk, Fatima"


def test_a_json_export_under_a_key(tmp_path):
    text = ('{"employees": [\n  {"email": "carmen@acme.com", "name": "Carmen", "status": "active"},\n'
            '  {"email": "Wanda.Webb@acme.com", "name": "Wanda", "status": "LEFT", "end_date": "2026-10-01T00:00:00Z"}\n]}')
    result = _collect(tmp_path, "hr.json", text)
    people = {p.email: p.attrs for p in result.principals}
    assert people["wanda.webb@acme.com"]["status"] == "terminated"
    assert people["wanda.webb@acme.com"]["end"] == "2026-10-01"
    assert people["wanda.webb@acme.com"]["line"] == 3


@pytest.mark.parametrize("name, text, extra, message", [
    ("hr.csv", "mail,name\na@acme.com,A\n", "",
     "hr.csv:1: no column 'email' (the email of each person); the file has 'mail', 'name': "
     "set [sources.roster.columns] email = \"…\""),
    ("hr.csv", "email,name,status\na@acme.com,A,active\nb@acme.com,B,retired\n", "",
     "hr.csv:3: column status: status 'retired' is not one foureyes knows (active, current, employed, former, "
     "inactive, leaver, left, on hold, suspended, terminated); map it under [sources.roster.statuses]"),
    ("hr.csv", "email,name,end_date\na@acme.com,A,10/23/2026\n", "",
     "hr.csv:2: column end_date: '10/23/2026' is not a date; write it as YYYY-MM-DD"),
    ("hr.csv", "email,name\na@acme.com,A\nA@acme.com,A again\n", "",
     "hr.csv:3: column email: a@acme.com is listed twice (first on line 2)"),
    ("hr.csv", "email,name,manager_email\na@acme.com,A,Bob Boss\n", "",
     "hr.csv:2: column manager_email: 'bob boss' is not an e-mail address (the manager is named by e-mail)"),
    ("hr.csv", "email,name\na@acme.com,\"A, unterminated\n", "", None),
    ("hr.json", '[\n  {"email": "a@acme.com", "name": "A"},\n  {"email": "", "name": "B"}\n]', "",
     "hr.json:3: key email: the e-mail is empty"),
    ("hr.json", '[\n  {"email": "a@acme.com", "name": "A",\n]', "", "hr.json:3: not valid JSON: Expecting property name enclosed in double quotes"),
    ("hr.csv", "email,name\n", '[sources.roster.columns]\ndepartment = "Dept"\n',
     "hr.csv:1: no column 'Dept', which [sources.roster.columns] department names; the file has 'email', 'name'"),
])
def test_a_malformed_roster_is_one_line_naming_file_line_and_column(tmp_path, name, text, extra, message):
    with pytest.raises(InputFileError) as caught:
        _collect(tmp_path, name, text, extra)
    assert caught.value.exit_code == 2
    shown = str(caught.value).replace(str(tmp_path) + "/", "")
    if message is None:
        assert shown.startswith("hr.csv:") and "CSV" in shown
    else:
        assert shown == message


def test_snapshot_refuses_a_bad_roster_with_exit_2_before_reading_anything(tmp_path, cli):
    (tmp_path / "hr.csv").write_text("email,name,status\na@acme.com,A,sacked\n", encoding="utf-8")
    config = tmp_path / "foureyes.toml"
    config.write_text('[sources.roster]\npath = "hr.csv"\n[store]\nurl = "sqlite:///%s"\n' % (tmp_path / "s.db"),
                      encoding="utf-8")
    result = cli("-c", str(config), "snapshot")
    assert result.returncode == 2
    assert result.stderr.strip().endswith(f"{tmp_path}/hr.csv:2: column status: status 'sacked' is not one "
                                          "foureyes knows (active, current, employed, former, inactive, leaver, "
                                          "left, on hold, suspended, terminated); map it under "
                                          "[sources.roster.statuses]")
    assert "Traceback" not in result.stderr
