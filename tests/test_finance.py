"""Finance from the ERP: instalments and annual statements imported, shown to the contract's
parties only, amounts exact and written as the tenant's language writes them."""

from __future__ import annotations

import re
import shutil
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event

from cli import main
from tests.conftest import ROOT, is_session_lookup, login
from tests.test_property import PEOPLE, estate  # noqa: F401  (the fixture, reused)

ERP = ROOT / "tenants" / "aurora" / "erp"
TODAY = date(2026, 11, 22)  # the demo sample's "today": 2 instalments of CT-1001 overdue


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    from runtime.modules.finance import ledger

    monkeypatch.setattr(ledger, "today", lambda: TODAY)


@pytest.fixture
def erp(tmp_path):
    folder = tmp_path / "erp"
    shutil.copytree(ERP, folder)
    return folder


def _import(runner, instance, folder, *extra):
    return runner.invoke(main, ["import", str(instance), str(folder), *extra])


def _line(digits: str) -> str:
    from runtime.modules.finance.erp import _mod10

    free = digits.ljust(25, "0")
    f1, f2, f3 = "0019" + free[:5], free[5:15], free[15:25]
    return f"{f1}{_mod10(f1)}{f2}{_mod10(f2)}{f3}{_mod10(f3)}1{'1' * 14}"


# -- reading the file -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "amount"), [
    ("1234.56", "1234.56"), ("1234,56", "1234.56"), ("1.234,56", "1234.56"),
    ("1.234.567,8", "1234567.80"), ("1.234.567", "1234567.00"), ("850", "850.00"),
    ("R$ 1.850,00", "1850.00"), ("0,5", "0.50"),
])
def test_amounts_are_read_exactly(text, amount):
    from runtime.modules.finance.erp import parse_money

    assert parse_money(text) == Decimal(amount)


@pytest.mark.parametrize(("text", "message"), [
    ("1.234", '"1.234" is ambiguous (a thousand, or one with decimals?): write 1234.00 or '
              "1.234,00"),
    ("1,234", '"1,234" is ambiguous (a thousand, or one with decimals?): write 1234.00 or '
              "1.234,00"),
    ("1,234.56", '"1,234.56" is not an amount (write 1234.56 or 1.234,56)'),
    ("12.345,678", '"12.345,678" is not an amount (write 1234.56 or 1.234,56)'),
    ("-10", "must be a positive amount"),
    ("1e5", '"1e5" is not an amount (write 1234.56 or 1.234,56)'),
])
def test_amounts_that_could_be_misread_are_refused(text, message):
    from runtime.modules.finance.erp import parse_money
    from runtime.tabular import Problem

    with pytest.raises(Problem) as refused:
        parse_money(text)
    assert str(refused.value) == message


HEADER = "contract_id;number;due_date;amount;paid_date;paid_amount;status;boleto_url;" \
         "digitable_line;pix_code\n"


def test_every_bad_row_is_named_and_nothing_is_imported(runner, migrated_instance, erp):
    line = _line("1234567")
    wrong = line[:9] + str((int(line[9]) + 1) % 10) + line[10:]
    pix = next(r for r in (ERP / "instalments.csv").read_text().splitlines()
               if "000201" in r).rsplit(";", 1)[1]
    (erp / "instalments.csv").write_text(HEADER + "\n".join([
        f"CT-1001;1;10/05/2024;1.850,00;10/05/2024;;paid;;{line};",
        "CT-1001;2;10/06/2024;1.850;;;open;;;",
        "CT-1001;3;31/06/2024;1850.00;;;;;;",
        "CT-9999;1;10/06/2024;10,00;;;;;;",
        f"CT-1001;4;10/07/2024;10,00;;;open;ftp://x;{wrong};{pix[:-1]}0",
        "CT-1001;5;10/08/2024;10,00;;;paid;;;",
        "CT-1001;6;10/08/2024;10,00;12/08/2024;;open;;;",
        "CT-1001;1;10/05/2024;1.850,00;;;;;;",
    ]) + "\n")
    (erp / "statements.csv").write_text(
        "contract_id;year;file\nCT-1001;2025;statements/none.pdf\nCT-1001;2024;instalments.csv\n"
        "CT-1002;2025;../erp/statements/CT-1002-2025.pdf\nCT-1002;2024;/etc/passwd\n")
    result = _import(runner, migrated_instance, erp)
    assert result.exit_code == 1
    errors = [e for e in result.output.splitlines() if e.startswith(("instalments", "statements"))]
    assert errors == [
        'instalments.csv:3: amount: "1.850" is ambiguous (a thousand, or one with decimals?): '
        "write 1234.00 or 1.234,00",
        'instalments.csv:4: due_date: "31/06/2024" is not a date (use 2026-03-31 or 31/03/2026)',
        'instalments.csv:6: boleto_url: "ftp://x" is not an http(s) address',
        "instalments.csv:6: digitable_line: the check digit of block 1 is wrong: is a digit "
        "mistyped?",
        "instalments.csv:6: pix_code: the PIX code's checksum (its last 4 characters) does not "
        "match: was it cut or changed?",
        "instalments.csv:9: repeats the row of line 2",
        'instalments.csv:5: contract_id: "CT-9999" is not in contracts (neither in this import '
        "nor in the portal)",
        "instalments.csv:7: paid_date: is required when the status is paid",
        "instalments.csv:8: status: is open, but the row has a paid_date",
        'statements.csv:2: file: "statements/none.pdf" is not in the import folder',
        'statements.csv:3: file: "instalments.csv" is not a PDF',
        'statements.csv:5: file: "/etc/passwd" is outside the import folder',
    ], errors
    assert "nothing was imported" in result.output
    from runtime import create_app
    from runtime.extensions import db
    from runtime.modules.finance.models import Instalment

    app = create_app(migrated_instance)
    with app.app_context():
        count = db.session.scalar(db.select(db.func.count(Instalment.id)))
        db.session.remove()
        db.engine.dispose()
    assert count == 0


def _counts(output: str) -> dict[str, str]:
    return {line.split()[0]: " ".join(line.split()[1:]) for line in output.splitlines()
            if line.startswith("  ")}


def test_dry_run_then_reimport_updates_and_removes_in_place(runner, migrated_instance, erp):
    dry = _import(runner, migrated_instance, erp, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert _counts(dry.output)["instalments"] == "121 created 0 updated 0 unchanged"
    stored = migrated_instance / "data" / "uploads" / "statements"
    assert not stored.exists() or not any(stored.iterdir())  # a dry run stores no PDF
    first = _import(runner, migrated_instance, erp)
    assert len(list(stored.iterdir())) == 3
    assert _counts(first.output)["instalments"] == "121 created 0 updated 0 unchanged"
    assert _counts(first.output)["statements"] == "3 created 0 updated 0 unchanged"
    rows = (erp / "instalments.csv").read_text().splitlines()
    # the ERP records a payment and drops an instalment (renegotiated)
    paid = [r for r in rows if r.startswith("CT-1001;30/36;")][0].split(";")
    paid[4:7] = ["14/10/2026", "1.887,00", "paid"]
    rows = [";".join(paid) if r.startswith("CT-1001;30/36;") else r for r in rows
            if not r.startswith("CT-1001;CHAVES;")]
    (erp / "instalments.csv").write_text("\n".join(rows) + "\n")
    again = _import(runner, migrated_instance, erp)
    assert _counts(again.output)["instalments"] == \
        "0 created 1 updated 119 unchanged 1 removed"
    assert _counts(again.output)["statements"] == "0 created 0 updated 3 unchanged"


# -- who sees what ------------------------------------------------------------------------------

def _finance_ids(app):
    from runtime.erp.models import Contract
    from runtime.extensions import db
    from runtime.modules.finance.models import AnnualStatement

    with app.app_context():
        contracts = dict(db.session.execute(db.select(Contract.external_id, Contract.id)).all())
        statements = {(s.contract_id, s.year): s.id
                      for s in db.session.scalars(db.select(AnnualStatement))}
    return contracts, statements


def test_only_the_parties_of_a_contract_see_its_instalments(estate):  # noqa: F811
    contracts, statements = _finance_ids(estate)
    routes = {
        "CT-1001": f"/finance/contracts/{contracts['CT-1001']}",
        "CT-1002": f"/finance/contracts/{contracts['CT-1002']}",
        "CT-1003": f"/finance/contracts/{contracts['CT-1003']}",
        "statement CT-1001 2025": f"/finance/statements/{statements[(contracts['CT-1001'], 2025)]}",
        "statement CT-1002 2025": f"/finance/statements/{statements[(contracts['CT-1002'], 2025)]}",
    }
    sees = {  # owner: holder of CT-1001, attorney of CT-1003; co-holder: of CT-1001
        "owner": {"CT-1001", "CT-1003", "statement CT-1001 2025"},
        "co-holder": {"CT-1001", "statement CT-1001 2025"},
        "neighbour": {"CT-1002", "statement CT-1002 2025"},
        "other development": {"CT-1003"},
        "syndic": set(),
    }
    numbers = {"CT-1001": "2024/0187", "CT-1002": "2024/0203", "CT-1003": "2025/0019"}
    for who, (email, kind) in PEOPLE.items():
        client = login(estate, email, kind)
        for name, url in routes.items():
            response = client.get(url)
            assert response.status_code == (200 if name in sees[who] else 404), (who, name)
            if name.startswith("statement") and name in sees[who]:
                assert response.mimetype == "application/pdf"
                assert response.get_data().startswith(b"%PDF-")
            response.close()
        html = client.get("/finance").get_data(as_text=True)
        shown = {c for c, n in numbers.items() if f"Contrato {n}" in html}
        assert shown == {c for c in sees[who] if c.startswith("CT-")}, who
    # a client never reaches the staff's view of another client
    from runtime.extensions import db
    from runtime.models import User

    with estate.app_context():
        joao = db.session.scalar(db.select(User.id).where(User.email == "joao.lima@example.com"))
    maria = login(estate, "maria.souza@example.com")
    assert maria.get(f"/staff/finance/clients/{joao}/contracts/{contracts['CT-1002']}") \
        .status_code == 403


def test_staff_see_a_clients_instalments_on_the_account_page(estate):  # noqa: F811
    from runtime.extensions import db
    from runtime.models import User

    contracts, statements = _finance_ids(estate)
    with estate.app_context():
        maria = db.session.scalar(db.select(User.id).where(
            User.email == "maria.souza@example.com"))
    staff = login(estate, "staff@example.com")
    html = staff.get(f"/staff/clients/{maria}").get_data(as_text=True)
    panel = html[html.index('class="card mt-3 finance-staff"'):]
    assert "Contrato 2024/0187" in panel and "Contrato 2025/0019" in panel
    assert "R$\xa03.700,00" in panel  # CT-1001: two instalments of R$ 1.850,00 overdue
    page = staff.get(f"/staff/finance/clients/{maria}/contracts/{contracts['CT-1001']}?year=2026")
    assert page.status_code == 200
    assert "Parcela 31/36" in page.get_data(as_text=True)
    # the contract must be the client's: another one is not found
    assert staff.get(f"/staff/finance/clients/{maria}/contracts/{contracts['CT-1002']}") \
        .status_code == 404
    pdf = staff.get(f"/staff/finance/clients/{maria}/statements/"
                    f"{statements[(contracts['CT-1001'], 2024)]}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    pdf.close()


# -- what the client reads -----------------------------------------------------------------------

def test_totals_overdue_and_one_tap_copy_on_the_finance_page(estate):  # noqa: F811
    contracts, _ = _finance_ids(estate)
    html = login(estate, "joao.lima@example.com").get("/finance").get_data(as_text=True)
    # João paid 30 of 36 instalments of R$ 1.620,40 (4 of them late, with 2 % more): the next
    # one is due on 5 December
    assert re.search(r"Pago</dt><dd[^>]*>R\$\xa048\.741,64</dd>", html)
    assert re.search(r"Em atraso</dt><dd[^>]*>R\$\xa00,00</dd>", html)
    assert 'datetime="2026-12-05"' in html
    due = html[html.index('id="due-now-title"'):html.index('id="contracts-title"')]
    assert "Parcela 31/36" in due and "Parcela 32/36" not in due
    # the digitable line and the PIX code: a copy button, and the text selectable whole
    line = re.search(r'data-copy="(\d{47})"', due).group(1)
    assert 'class="copy-value user-select-all' in due
    assert re.search(r'data-copy="00020126[^"]+6304[0-9A-F]{4}"', due)
    assert due.count("data-copy=") == 2 and 'role="status"' in due
    assert line.startswith("00190")
    boleto = re.search(r'<a [^>]*href="https://erp\.aurora\.com\.br/boletos/CT-1002-031\.pdf"'
                       r'[^>]*>', due).group(0)
    assert 'target="_blank"' in boleto and "noopener" in boleto
    # the statement of 2025, served as the PDF the ERP sent
    assert re.search(r'href="/finance/statements/\d+">.*Informe 2025 \(PDF\)', html)
    _assert_named_and_unique(html)


def _assert_named_and_unique(html: str) -> None:
    """Every control named (a copy button names what it copies), no id used twice."""
    from tests.test_a11y import _Page, nameless_controls

    assert nameless_controls(html) == []
    ids = [e.attrs["id"] for e in _Page(html).elements if e.attrs.get("id")]
    assert len(ids) == len(set(ids))
    names = re.findall(r'data-copy-label>Copiar</span><span class="visually-hidden"> ([^<]+)<',
                       html)
    assert set(names) <= {"Linha digitável do boleto", "Código PIX copia e cola"} and names


def test_the_contract_page_lists_a_year_and_marks_overdue(estate):  # noqa: F811
    contracts, _ = _finance_ids(estate)
    client = login(estate, "maria.souza@example.com")
    html = client.get(f"/finance/contracts/{contracts['CT-1001']}").get_data(as_text=True)
    assert "Parcelas de 2026" in html  # the year of the next due instalment
    assert re.search(r'aria-current="page">2026</a>', html)
    assert html.count("instalment-overdue") == 2
    _assert_named_and_unique(html)
    assert html.count("Em atraso</span>") == 2 and html.count("Pago</span>") == 9
    older = client.get(f"/finance/contracts/{contracts['CT-1001']}?year=2024")
    assert older.get_data(as_text=True).count("Pago</span>") == 8
    assert client.get(f"/finance/contracts/{contracts['CT-1001']}?year=x").status_code == 400
    empty = client.get(f"/finance/contracts/{contracts['CT-1001']}?year=2031")
    assert "Nenhuma parcela vence em 2031." in empty.get_data(as_text=True)
    # the contracts page leads to each contract's instalments
    listed = client.get("/contracts").get_data(as_text=True)
    assert f'href="/finance/contracts/{contracts["CT-1001"]}"' in listed


@pytest.mark.parametrize(("locale", "paid", "label"), [
    ("pt-BR", "R$\xa053.798,00", "Pago"),
    ("en", "R$53,798.00", "Paid"),
    ("es", "53.798,00\xa0BRL", "Pagado"),
])
def test_amounts_are_written_as_the_tenants_language_writes_them(estate, locale, paid,  # noqa: F811
                                                                 label):
    from runtime.i18n import bind_catalogue

    estate.extensions["portal"]["tenant"]["locale"] = locale
    bind_catalogue(estate)  # a portal's language is fixed when its app is made
    contracts, _ = _finance_ids(estate)
    html = login(estate, "ana.souza@example.com").get("/finance").get_data(as_text=True)
    assert re.search(rf"{label}</dt><dd[^>]*>{re.escape(paid)}</dd>", html), html[:200]


def test_finance_pages_run_few_statements_with_10000_instalments(estate):  # noqa: F811
    from runtime.erp.models import Contract, ContractParty, Unit
    from runtime.extensions import db
    from runtime.models import User
    from runtime.modules.finance.models import Instalment

    contracts, _ = _finance_ids(estate)
    with estate.app_context():
        maria = db.session.scalar(db.select(User.id).where(
            User.email == "maria.souza@example.com"))
        unit = db.session.scalar(db.select(Unit.id).where(Unit.external_id == "JAR-A-101"))
        rows = []
        for n in range(40):  # 40 more contracts of Maria's, 250 instalments each
            contract = Contract(external_id=f"X-{n}", number=f"X/{n}", unit_id=unit)
            db.session.add(contract)
            db.session.flush()
            db.session.add(ContractParty(contract_id=contract.id, user_id=maria, role="holder"))
            rows += [{"contract_id": contract.id, "number": str(i),
                      "due_on": date(2010 + i // 12, i % 12 + 1, 10), "amount_cents": 100_00,
                      "paid_on": None, "paid_cents": None,
                      "status": "open" if i % 3 else "paid", "digitable_line": None,
                      "boleto_url": "https://erp.example/b", "pix_code": None}
                     for i in range(250)]
        db.session.execute(db.insert(Instalment), rows)
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count(Instalment.id))) >= 10_000
        engine = db.engine
    statements = []

    def count(conn, cursor, statement, *args):
        if not is_session_lookup(statement):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        client = login(estate, "maria.souza@example.com")
        for url in ("/finance", f"/finance/contracts/{contracts['CT-1001']}",
                    f"/finance/contracts/{contracts['CT-1001']}?year=2025"):
            statements.clear()
            response = client.get(url)
            assert response.status_code == 200
            assert len(statements) <= 8, (url, len(statements), statements)
        html = client.get("/finance").get_data(as_text=True)
        assert html.count('class="card mb-2 instalment') == 24  # what to pay now, bounded
        staff = login(estate, "staff@example.com")
        for url in (f"/staff/clients/{maria}",
                    f"/staff/finance/clients/{maria}/contracts/{contracts['CT-1001']}"):
            statements.clear()
            assert staff.get(url).status_code == 200
            assert len(statements) <= 8, (url, len(statements), statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_tenant_may_show_instalments_without_finance_links(tmp_path):
    from generator.build import build
    from generator.validate import validate_file
    from tests.conftest import import_estate

    folder = tmp_path / "aurora"
    shutil.copytree(ROOT / "tenants" / "aurora", folder)
    shutil.copytree(ROOT / "tenants" / "_base", tmp_path / "_base")
    tenant = folder / "tenant.yaml"
    text = tenant.read_text(encoding="utf-8")
    start, end = text.index("  finance:\n"), text.index("  faq:\n")
    tenant.write_text(text[:start] + "  finance: {}\n" + text[end:], encoding="utf-8")
    assert [d.format() for d in validate_file(str(tenant)).diagnostics
            if d.severity == "error"] == []
    instance = build(str(tenant), tmp_path / "b").instance
    app = import_estate(instance, f"sqlite:///{instance / 'data' / 'portal.db'}")
    html = login(app, "joao.lima@example.com").get("/finance").get_data(as_text=True)
    assert "Contrato 2024/0203" in html and "Outros serviços" not in html
    assert "finance-item" not in html


def test_instalments_in_json_with_numbers_as_amounts(runner, migrated_instance, erp):
    import json

    (erp / "instalments.csv").unlink()
    line = _line("7654321")
    (erp / "instalments.json").write_text(json.dumps([
        {"contract_id": "CT-1002", "number": 1, "due_date": "2026-12-05", "amount": 1620.4,
         "digitable_line": line},
        {"contract_id": "CT-1002", "number": 2, "due_date": "2027-01-05", "amount": 1620.405},
    ]))
    result = _import(runner, migrated_instance, erp)
    assert result.exit_code == 1
    assert 'instalments.json:2: amount: "1620.405" is not an amount (write 1234.56 or ' \
        "1.234,56)" in result.output.splitlines()
    data = json.loads((erp / "instalments.json").read_text())
    data[1]["amount"] = "1.620,40"
    (erp / "instalments.json").write_text(json.dumps(data))
    result = _import(runner, migrated_instance, erp)
    assert result.exit_code == 0, result.output
    assert _counts(result.output)["instalments"] == "2 created 0 updated 0 unchanged"
