"""The CLI as a consultant uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cli import main
from tests.conftest import ROOT


def test_validate_exit_codes_and_strict(runner, tenant_file, tmp_path):
    assert runner.invoke(main, ["validate", str(tenant_file)]).exit_code == 0
    text = tenant_file.read_text().replace('primary: "#F2A900"',
                                           'primary: "#F2A900"\n    text: "#999999"')
    tenant_file.write_text(text)
    loose = runner.invoke(main, ["validate", str(tenant_file)])
    assert loose.exit_code == 0 and "warning: text #999999" in loose.output
    assert runner.invoke(main, ["validate", "--strict", str(tenant_file)]).exit_code == 1
    missing = runner.invoke(main, ["validate", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 1 and "nope.yaml:1:1: file not found" in missing.output
    assert "Traceback" not in missing.output


def test_validate_does_not_import_flask():
    code = ("import sys, cli; from click.testing import CliRunner; "
            "r = CliRunner().invoke(cli.main, ['validate', 'tenants/aurora/tenant.yaml']); "
            "assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'runtime', 'sqlalchemy', 'werkzeug')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_build_reports_every_problem_and_builds_the_rest(runner, tenant_file, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\ntenant: {id: bad}\n")
    result = runner.invoke(main, ["build", str(tenant_file), str(bad), "--out",
                                  str(tmp_path / "out")])
    assert result.exit_code == 1
    assert 'bad.yaml:2:1: tenant: missing required key "name"' in result.output
    assert "built 1 instance(s)" in result.output
    assert (tmp_path / "out" / "minimal" / "wsgi.py").is_file()


def test_build_all_skips_bases(runner, tmp_path):
    result = runner.invoke(main, ["build", "--all", str(ROOT / "tenants"), "--out",
                                  str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["aurora", "northwind"]


def test_new_writes_a_valid_tenant(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["new", "vila-nova", "--dir", str(tmp_path / "tenants")])
    assert result.exit_code == 0, result.output
    path = tmp_path / "tenants" / "vila-nova" / "tenant.yaml"
    first = path.read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    schema = (path.parent / first.split("=", 1)[1]).resolve()
    assert schema == ROOT / "schemas" / "tenant.schema.json"
    assert runner.invoke(main, ["validate", str(path)]).exit_code == 0
    again = runner.invoke(main, ["new", "vila-nova", "--dir", str(tmp_path / "tenants")])
    assert again.exit_code == 1 and "exists already" in again.output
    assert runner.invoke(main, ["new", "Bad_Id"]).exit_code == 1


def test_db_upgrade_is_idempotent_and_users_add(runner, built_instance):
    for _ in range(2):
        result = runner.invoke(main, ["db", "upgrade", str(built_instance)])
        assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["users", "add", str(built_instance), "--email", "Ana@X.com",
                                  "--password", "long-enough-pw", "--name", "Ana",
                                  "--document", "529.982.247-25", "--role", "staff"])
    assert result.exit_code == 0, result.output
    assert "created staff ana@x.com" in result.output
    again = runner.invoke(main, ["users", "add", str(built_instance), "--email", "ana@x.com",
                                 "--password", "long-enough-pw", "--name", "Ana"])
    assert again.exit_code == 1 and "an account with this e-mail exists" in again.output
    bad = runner.invoke(main, ["users", "add", str(built_instance), "--email", "b@x.com",
                               "--password", "long-enough-pw", "--name", "B",
                               "--document", "111.111.111-11"])
    assert bad.exit_code == 1 and "not a valid CPF or CNPJ" in bad.output


def test_users_add_without_password_sends_first_access(runner, built_instance):
    runner.invoke(main, ["db", "upgrade", str(built_instance)])
    result = runner.invoke(main, ["users", "add", str(built_instance), "--email", "c@x.com",
                                  "--name", "C"])
    assert result.exit_code == 0, result.output
    assert "first-access link queued; the outbox worker delivers it to the outbox folder" \
        in result.output
    folder = Path(built_instance, "data", "outbox")
    assert list(folder.glob("*.eml")) == []  # the command only queues, like a request
    sent = runner.invoke(main, ["outbox", "send", str(built_instance)])
    assert sent.output == "sent 1 e-mail(s)\n" and len(list(folder.glob("*.eml"))) == 1


def test_serve_refuses_a_folder_that_is_not_an_instance(runner, tmp_path):
    result = runner.invoke(main, ["serve", str(tmp_path)])
    assert result.exit_code == 1
    assert "is not a built portal instance" in result.output


def test_python_cli_py_works_too():
    out = subprocess.run([sys.executable, "cli.py", "--help"], cwd=ROOT, capture_output=True,
                         text=True)
    assert out.returncode == 0 and "validate" in out.stdout
