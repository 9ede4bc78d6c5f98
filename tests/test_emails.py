"""One e-mail rule: the staff form, `portal users add` and `portal import` agree on every
address, and with the generator's check of the tenant file."""

from __future__ import annotations

from cli import main
from tests.conftest import add_user, login, submit

# (address, valid): the ones the old checks disagreed on are marked with the check that
# let them through
ADDRESSES = [
    ("Ana.Lima+obra@Example.com", True),
    ("joão@example.com", True),
    ("  bia@example.com ", True),  # the spaces around are dropped, as everywhere
    ("ana..lima@example.com", False),  # the import's pattern took it
    ("ana@example", False),  # `portal users add` only looked for an '@'
    ("ana lima@example.com", False),  # so did it here
    ("ana@portal.test", False),  # a special-use domain: the generator refused it already
    ("a" * 250 + "@example.com", False),
]


def _imported(runner, instance, tmp_path) -> dict[str, bool]:
    folder = tmp_path / "erp"
    folder.mkdir()
    lines = [f"C-{i};Ana;{address}" for i, (address, _) in enumerate(ADDRESSES)]
    (folder / "customers.csv").write_text("id;name;email\n" + "\n".join(lines) + "\n")
    result = runner.invoke(main, ["import", str(instance), str(folder), "--dry-run"])
    assert "Traceback" not in result.output
    return {address: f"customers.csv:{i + 2}: email:" not in result.output
            for i, (address, _) in enumerate(ADDRESSES)}


def _added_by_cli(runner, instance) -> dict[str, bool]:
    verdicts = {}
    for address, _ in ADDRESSES:
        result = runner.invoke(main, ["users", "add", str(instance), "--email", address,
                                      "--name", "Ana", "--password", "long-password"])
        assert result.exit_code in (0, 1) and "Traceback" not in result.output, result.output
        verdicts[address] = result.exit_code == 0
    return verdicts


def _staff_form(app) -> dict[str, bool]:
    add_user(app, "staff@example.com", role="staff")
    client = login(app, "staff@example.com")
    verdicts = {}
    for address, _ in ADDRESSES:
        page = submit(client, "/staff/clients/new", {
            "name": "Ana", "email": address, "role": "client"}).get_data(as_text=True)
        verdicts[address] = "Invalid email address." not in page
    return verdicts


def test_staff_form_cli_and_import_apply_the_same_rule(app, runner, built_instance, db_url,
                                                      monkeypatch, tmp_path):
    from generator.schema import format_checker

    monkeypatch.setenv("PORTAL_DATABASE_URL", db_url)  # the CLI opens the app's database
    expected = dict(ADDRESSES)
    assert _imported(runner, built_instance, tmp_path) == expected
    assert _added_by_cli(runner, built_instance) == expected
    assert _staff_form(app) == expected
    # the tenant file's e-mails (generator/schema.py): the same library, the same options
    assert {a: format_checker.conforms(a.strip(), "email") for a in expected} == expected


def test_the_cli_says_why_an_address_is_refused(app, runner, built_instance, db_url,
                                                 monkeypatch):
    monkeypatch.setenv("PORTAL_DATABASE_URL", db_url)
    result = runner.invoke(main, ["users", "add", str(built_instance), "--email", "ana@example",
                                  "--name", "Ana"])
    assert result.exit_code == 1
    assert "ana@example: not an e-mail address" in result.output
