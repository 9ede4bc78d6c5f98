"""`portal import`: every row validated, all or nothing, the same import twice changes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli import main
from tests.conftest import ROOT

ERP = ROOT / "tenants" / "aurora" / "erp"


@pytest.fixture
def erp(tmp_path) -> Path:
    folder = tmp_path / "erp"
    shutil.copytree(ERP, folder)
    return folder


@pytest.fixture
def instance(migrated_instance):
    return migrated_instance


def _import(runner, instance, folder, *extra):
    return runner.invoke(main, ["import", str(instance), str(folder), *extra])


def _counts(output: str) -> dict[str, tuple[int, int, int]]:
    counts = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 7 and parts[2] == "created":
            counts[parts[0]] = (int(parts[1]), int(parts[3]), int(parts[5]))
    return counts


def test_import_twice_changes_nothing(runner, instance, erp):
    first = _import(runner, instance, erp)
    assert first.exit_code == 0, first.output
    assert _counts(first.output) == {"customers": (5, 0, 0), "developments": (2, 0, 0),
                                     "units": (5, 0, 0), "contracts": (4, 0, 0),
                                     "contract_parties": (6, 0, 0), "instalments": (121, 0, 0),
                                     "statements": (3, 0, 0), "common_areas": (8, 0, 0)}
    assert "portal users invite" in first.output
    again = _import(runner, instance, erp)
    assert _counts(again.output) == {"customers": (0, 0, 5), "developments": (0, 0, 2),
                                     "units": (0, 0, 5), "contracts": (0, 0, 4),
                                     "contract_parties": (0, 0, 6), "instalments": (0, 0, 121),
                                     "statements": (0, 0, 3), "common_areas": (0, 0, 8)}


def test_a_changed_row_updates_in_place(runner, instance, erp):
    _import(runner, instance, erp)
    units = (erp / "units.csv").read_text()
    (erp / "units.csv").write_text(units.replace("JAR-A-101;JAR;A-101;Torre A;1;72,50",
                                                 "JAR-A-101;JAR;A-101;Torre A;1;73,10"))
    parties = (erp / "contract_parties.csv").read_text()
    (erp / "contract_parties.csv").write_text(parties.replace("CT-1003;C-0001;attorney",
                                                              "CT-1003;C-0001;co-holder"))
    result = _import(runner, instance, erp)
    counts = _counts(result.output)
    assert counts["units"] == (0, 1, 4) and counts["contract_parties"] == (0, 1, 5)


def test_one_bad_row_changes_nothing_and_is_named(runner, instance, erp):
    customers = (erp / "customers.csv").read_text()
    (erp / "customers.csv").write_text(customers.replace("111.444.777-35", "111.444.777-36"))
    contracts = (erp / "contracts.csv").read_text()
    (erp / "contracts.csv").write_text(contracts.replace("CT-1004;2025/0044;VV-0402;11/02/2025",
                                                         "CT-1004;2025/0044;VV-9999;31/02/2025"))
    result = _import(runner, instance, erp)
    assert result.exit_code == 1
    assert result.output.splitlines()[:3] == [
        'customers.csv:3: document: "111.444.777-36" is not a valid CPF or CNPJ (check digits)',
        'contracts.csv:5: signed_on: "31/02/2025" is not a date (use 2026-03-31 or 31/03/2026)',
        'contracts.csv:5: unit_id: "VV-9999" is not in units (neither in this import nor in '
        "the portal)",
    ]
    assert "nothing was imported" in result.output
    dry = _import(runner, instance, ERP, "--dry-run")
    assert _counts(dry.output)["customers"] == (5, 0, 0)  # still all new: nothing was written


def test_latin1_comma_files_and_json_with_inline_parties(runner, instance, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "customers.csv").write_bytes(
        "id,name,document,email\nK1,José Conceição,529.982.247-25,jose@example.com\n"
        .encode("latin-1"))
    (folder / "developments.json").write_text(json.dumps(
        [{"id": "D1", "name": "Edifício Ipê", "delivery_forecast": "2027-06-30"}]))
    (folder / "units.json").write_text(json.dumps(
        [{"id": "U1", "development_id": "D1", "code": "301", "area": 55.5}]))
    (folder / "contracts.json").write_text(json.dumps(
        [{"id": "K-1", "number": "77", "unit_id": "U1",
          "parties": [{"customer_id": "K1", "role": "holder"}]}]))
    result = _import(runner, instance, folder)
    assert result.exit_code == 0, result.output
    assert _counts(result.output)["contract_parties"] == (1, 0, 0)
    from runtime import create_app
    from runtime.extensions import db
    from runtime.models import User

    app = create_app(instance)
    with app.app_context():
        assert db.session.scalar(db.select(User.name).where(User.erp_id == "K1")) == \
            "José Conceição"
        db.session.remove()
        db.engine.dispose()


def test_unknown_and_missing_columns(runner, instance, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "units.csv").write_text("id;codigo;development_id\nU1;101;D9\n")
    result = _import(runner, instance, folder)
    assert result.exit_code == 1
    assert "units.csv:1: codigo: unknown column (expected: id, development_id, code, tower, " \
           "floor, area, type)" in result.output
    assert "units.csv:1: code: required column is missing" in result.output


def test_invite_all_new_customers_once(runner, instance, erp):
    _import(runner, instance, erp)
    first = runner.invoke(main, ["users", "invite", str(instance), "--all-new"])
    # five customers, one without an e-mail
    assert first.exit_code == 0 and "queued 4 first-access link(s)" in first.output
    again = runner.invoke(main, ["users", "invite", str(instance), "--all-new"])
    assert "queued 0 first-access link(s)" in again.output
    assert runner.invoke(main, ["outbox", "send", str(instance)]).output == "sent 4 e-mail(s)\n"
    assert len(list((instance / "data" / "outbox").glob("*.eml"))) == 4


def test_a_changed_email_used_by_another_account_is_a_row_problem(runner, instance, erp):
    _import(runner, instance, erp)
    customers = (erp / "customers.csv").read_text()
    (erp / "customers.csv").write_text(customers.replace("joao.lima@example.com",
                                                         "maria.souza@example.com"))
    result = _import(runner, instance, erp)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert 'customers.csv:3: email: "maria.souza@example.com" is used by another account' in \
        result.output
