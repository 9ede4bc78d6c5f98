"""Golden diagnostics: the exact line a consultant reads for each rule."""

from __future__ import annotations

import json
import textwrap
import time

import pytest

from generator.validate import validate_file

HEAD = """\
schema_version: 1
tenant:
  id: acme
  name: Acme
"""


@pytest.fixture
def check(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def run(text: str, name: str = "tenant.yaml") -> list[str]:
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
        return [d.format() for d in validate_file(name).diagnostics]

    return run


def test_a_valid_file_has_no_diagnostics(check):
    assert check(HEAD) == []


def test_unquoted_colour_is_a_comment(check):
    assert check(HEAD + "branding:\n  colors:\n    primary: #1E88E5\n") == [
        "tenant.yaml:7:5: branding.colors.primary: expected a quoted hex colour like "
        "\"#1E88E5\" (got null: '#' starts a YAML comment)"
    ]


def test_yaml_syntax_error_has_its_position(check):
    assert check(HEAD + "menu: [\n") == [
        "tenant.yaml:6:1: YAML syntax error: while parsing a flow node: "
        "expected the node content, but found '<stream end>'"
    ]


def test_empty_file(check):
    assert check("# nothing yet\n") == [
        "tenant.yaml:1:1: the file is empty; a tenant file starts with `schema_version: 1`"
    ]


def test_not_utf8(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tenant.yaml").write_bytes(HEAD.encode() + b"  support_phone: caf\xe9\n")
    assert [d.format() for d in validate_file("tenant.yaml").diagnostics] == [
        "tenant.yaml:5:21: the file is not UTF-8 text (byte 0xE9); save it as UTF-8"
    ]


def test_duplicate_key(check):
    assert check(HEAD + "  name: Acme again\n") == [
        'tenant.yaml:5:3: tenant.name: duplicate key "name" (first at line 4); '
        "YAML would keep only the last one: remove one of them"
    ]


def test_alias_bomb_is_refused_fast(check):
    bomb = HEAD + 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
    for i in range(1, 10):
        bomb += f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 10) + "]\n"
    # expanded, the file is 10**10 values: any bound on this process's CPU time tells
    # (CPU time, not wall time: other processes on the machine do not count)
    started = time.process_time()
    lines = check(bomb)
    assert time.process_time() - started < 5.0
    assert lines == [
        "tenant.yaml:9:1: e: the file expands to more than 50,000 values through anchors and "
        "aliases (an alias bomb?); write it without aliases that multiply"
    ]


def test_unknown_keys_at_any_depth_with_did_you_mean(check):
    assert check(HEAD + "  nmae: Typo\nbrandng: {}\nmodules:\n  faq:\n    itens: []\n") == [
        'tenant.yaml:5:3: tenant.nmae: unknown key "nmae"; did you mean "name"?',
        'tenant.yaml:6:1: brandng: unknown key "brandng"; did you mean "branding"?',
        'tenant.yaml:8:3: modules.faq: missing required key "items"',
        'tenant.yaml:9:5: modules.faq.itens: unknown key "itens"; did you mean "items"?',
    ]


def test_schema_version_slug_locale_timezone_email(check):
    text = """\
    schema_version: 2
    tenant:
      id: Acme_Homes
      name: Acme
      locale: pt_BR
      timezone: America/Sao_Paolo
      support_email: atendimento.acme.com
    """
    assert check(text) == [
        "tenant.yaml:1:17: schema_version: expected 1 (the only version of this format) (got 2)",
        'tenant.yaml:3:7: tenant.id: expected a slug like "aurora" (a lower-case letter, then '
        '1 to 40 of a-z, 0-9 or -) (got "Acme_Homes")',
        'tenant.yaml:5:11: tenant.locale: expected one of: pt-BR, en, es (got "pt_BR"; '
        'did you mean "pt-BR"?)',
        'tenant.yaml:6:13: tenant.timezone: expected an IANA time zone like '
        '"America/Sao_Paulo" (got "America/Sao_Paolo")',
        'tenant.yaml:7:18: tenant.support_email: expected an e-mail address like '
        '"atendimento@empresa.com.br" (got "atendimento.acme.com")',
    ]


def test_urls_are_http_only_and_placeholders_are_known(check):
    text = HEAD + textwrap.dedent("""\
    social:
      website: "javascript:alert(1)"
    modules:
      finance:
        items:
          - { id: boleto, label: Boleto, url: "https://erp.example/b?c={customer.cpf}" }
          - { id: extrato, label: Extrato,
              url: "https://erp.example/e?u={unit.code}&n={contract.number}" }
    """)
    assert check(text) == [
        'tenant.yaml:6:12: social.website: expected an http:// or https:// address '
        '(got "javascript:alert(1)")',
        "tenant.yaml:10:43: modules.finance.items[0].url: unknown placeholder {customer.cpf}; "
        "use {customer.id}, {customer.document}, {customer.email}, {unit.code}, "
        '{contract.number}; did you mean "{customer.document}"?',
    ]


def test_secrets_in_clear(check):
    text = HEAD + textwrap.dedent("""\
    integrations:
      email:
        host: smtp.acme.com
        from: portal@acme.com
        password: hunter2
    """)
    assert check(text) == [
        "tenant.yaml:9:5: integrations.email.password: a secret is written in clear; name an "
        "environment variable instead, e.g. password_env: ACME_SMTP_PASSWORD"
    ]


def test_missing_files(check):
    text = HEAD + textwrap.dedent("""\
    branding:
      logo: assets/logo.svg
      favicon: assets/favicon.png
      login_image: assets/login.jpg
      banners:
        - { image: assets/b.jpg, alt: Banner }
      templates: overrides/
    extends: _base.yaml
    """)
    assert check(text) == ["tenant.yaml:12:10: extends: base file not found: _base.yaml"]
    text = text.replace("extends: _base.yaml\n", "")
    lines = check(text + "modules: {faq: {items: [{q: a, a: b}]}}\n"
                  "menu:\n  - { label: Manual, page: pages/manual.md }\n")
    assert lines == [
        "tenant.yaml:6:9: branding.logo: file not found: assets/logo.svg",
        "tenant.yaml:7:12: branding.favicon: file not found: assets/favicon.png",
        "tenant.yaml:8:16: branding.login_image: file not found: assets/login.jpg",
        "tenant.yaml:10:16: branding.banners[0].image: file not found: assets/b.jpg",
        "tenant.yaml:11:14: branding.templates: folder not found: overrides",
        "tenant.yaml:14:28: menu[0].page: file not found: pages/manual.md",
    ]


def test_menu_cross_references(check):
    text = HEAD + textwrap.dedent("""\
    modules:
      notices: {}
    divisions:
      - group: contato
        label: Contato
        divisions:
          - { id: sac, label: SAC, requests: [{ id: duvida, label: Dúvida }] }
    menu:
      - { label: FAQ, module: faq }
      - { label: Avisos, module: notices, url: "https://acme.com" }
      - { label: Contato, icon: chatt, division_group: contatos }
      - { label: Vazio }
      - label: Um
        children:
          - label: Dois
            children:
              - label: Três
                children:
                  - { label: Quatro, module: notices }
    """)
    assert check(text) == [
        'tenant.yaml:13:27: menu[0].module: module "faq" is not enabled; add it under modules '
        "or remove this entry",
        "tenant.yaml:14:5: menu[1]: needs exactly one of module, division_group, page, url, "
        "children (found module, url)",
        'tenant.yaml:15:29: menu[2].icon: no icon "chatt" in Bootstrap Icons; did you mean '
        '"chat"?',
        'tenant.yaml:15:52: menu[2].division_group: no division group "contatos"; did you mean '
        '"contato"?',
        "tenant.yaml:16:5: menu[3]: needs exactly one of module, division_group, page, url, "
        "children (found none)",
        "tenant.yaml:23:17: menu[4].children[0].children[0].children[0]: the menu is at most 3 "
        "levels deep",
    ]


def test_unique_ids_and_references(check):
    text = HEAD + textwrap.dedent("""\
    divisions:
      - group: g
        label: G
        divisions:
          - id: sac
            label: SAC
            requests:
              - id: r
                label: R
                fields:
                  - { id: f, label: F, type: text }
                  - { id: f, label: F2, type: select }
                  - { id: n, label: N, type: number, min: 10, max: 1 }
              - { id: r, label: R2 }
      - group: g
        label: G2
        divisions:
          - { id: sac, label: SAC2, requests: [{ id: x, label: X }] }
    modules:
      finance:
        items:
          - { id: a, label: A, ticket: { division: financeiro, request: r } }
          - { id: a, label: B, ticket: { division: sac, request: renegociacao } }
      profile:
        editable: [email]
      survey:
        questions:
          - { id: q, type: choice, text: Q }
          - { id: q, type: text, text: Q2 }
      scheduling:
        types: [{ id: v, label: V, duration_minutes: 30 }]
        hours: { weekdays: [mon], start: "17:00", end: "08:00" }
    """)
    assert check(text) == [
        "tenant.yaml:16:17: divisions[0].divisions[0].requests[0].fields[1]: a select field "
        "needs options",
        'tenant.yaml:16:23: divisions[0].divisions[0].requests[0].fields[1].id: field id "f" '
        "is used twice (first at divisions[0].divisions[0].requests[0].fields[0])",
        "tenant.yaml:17:55: divisions[0].divisions[0].requests[0].fields[2].min: min (10) is "
        "greater than max (1)",
        'tenant.yaml:18:19: divisions[0].divisions[0].requests[1].id: request id "r" is used '
        "twice (first at divisions[0].divisions[0].requests[0])",
        'tenant.yaml:19:12: divisions[1].group: group id "g" is used twice (first at '
        "divisions[0])",
        'tenant.yaml:22:15: divisions[1].divisions[0].id: division id "sac" is used twice '
        "(first at divisions[0].divisions[0]); ids are unique across all groups",
        'tenant.yaml:26:48: modules.finance.items[0].ticket.division: no division "financeiro" '
        "in the service tree",
        'tenant.yaml:27:15: modules.finance.items[1].id: finance item id "a" is used twice '
        "(first at modules.finance.items[0])",
        'tenant.yaml:27:62: modules.finance.items[1].ticket.request: division "sac" has no '
        'request "renegociacao"',
        "tenant.yaml:28:3: modules.profile: editable fields need a change_request (the "
        "division and request that a change opens)",
        "tenant.yaml:32:9: modules.survey.questions[0]: a choice question needs options",
        'tenant.yaml:33:15: modules.survey.questions[1].id: question id "q" is used twice '
        "(first at modules.survey.questions[0])",
        "tenant.yaml:36:52: modules.scheduling.hours.end: end (08:00) must be later than "
        "start (17:00)",
    ]


def test_social_networks_are_a_fixed_list(check):
    text = HEAD + 'social:\n  whatsapp: 5511\n  mastodon: https://m.example/@a\n'
    assert check(text) == [
        "tenant.yaml:6:13: social.whatsapp: expected a quoted phone number like "
        '"+55 11 94000-1234" (got 5511)',
        'tenant.yaml:7:3: social.mastodon: unknown key "mastodon"; allowed keys: facebook, '
        "instagram, linkedin, youtube, x, tiktok, whatsapp, telegram, website",
    ]


def test_yaml_traps_get_hints(check):
    text = HEAD + '  support_phone: 01140001234\nfeatures:\n  syndic_login: "yes"\n'
    assert check(text) == [
        "tenant.yaml:5:18: tenant.support_phone: expected a quoted phone number like "
        '"+55 11 4000-1234" (got the number 1140001234: YAML reads 01140001234 as a number '
        "and drops the leading zero; quote it)",
        'tenant.yaml:7:17: features.syndic_login: expected true or false (got the text "yes": '
        "write true or false, without quotes)",
    ]


def test_warnings_contrast_and_comma_split(check):
    text = HEAD + textwrap.dedent("""\
    branding:
      colors: { text: "#777777", background: "#888888" }
    modules:
      survey:
        questions:
          - { id: nps, type: nps, text: De 0 a 10, quanto você nos recomendaria? }
    """)
    assert check(text) == [
        "tenant.yaml:6:19: branding.colors.text: warning: text #777777 on background #888888 "
        "has contrast 1.26:1, under the WCAG AA minimum of 4.5:1",
        "tenant.yaml:10:48: modules.survey.questions[0].text: warning: a comma inside { } split "
        'this text; read as "De 0 a 10, quanto você nos recomendaria?": quote the whole text '
        "to make that explicit",
    ]


def test_modules_and_switches_this_release_does_not_implement_warn(check, runner, tmp_path):
    from cli import main

    text = HEAD + textwrap.dedent("""\
    features:
      refer_a_friend: true
      address_confirmation: false
      syndic_login: true
    modules:
      vouchers: { title: Clube }
      faq: { items: [{ q: Q, a: A }] }
    """)
    # vouchers, refer_a_friend and address_confirmation have screens since issue 11: no
    # warning, so --strict passes (a switch or module marked x-planned would warn)
    assert check(text) == []
    assert runner.invoke(main, ["validate", "tenant.yaml"]).exit_code == 0
    assert runner.invoke(main, ["validate", "--strict", "tenant.yaml"]).exit_code == 0


def test_big_logo_warns(check, tmp_path):
    (tmp_path / "logo.png").write_bytes(b"\x89PNG" + b"0" * 600_000)
    assert check(HEAD + "branding: { logo: logo.png }\n") == [
        "tenant.yaml:5:19: branding.logo: warning: the logo is 585 KB; keep it under 500 KB so "
        "pages load fast on a phone"
    ]


def test_extends_merges_maps_replaces_lists_and_reports_in_the_base(check, tmp_path):
    (tmp_path / "_base").mkdir()
    (tmp_path / "_base" / "base.yaml").write_text(textwrap.dedent("""\
        schema_version: 1
        features: { refer_a_friend: true, syndic_login: maybe }
        social: { facebook: https://fb.com/a, instagram: https://ig.com/a }
        """), encoding="utf-8")
    text = HEAD + "extends: _base/base.yaml\nsocial: { facebook: https://fb.com/b }\n"
    assert check(text) == [
        "_base/base.yaml:2:49: features.syndic_login: expected true or false (got \"maybe\")",
    ]
    result = validate_file("tenant.yaml")
    assert result.document.data["social"] == {"facebook": "https://fb.com/b",
                                              "instagram": "https://ig.com/a"}


def test_extends_cycle(check, tmp_path):
    (tmp_path / "_a.yaml").write_text("schema_version: 1\nextends: tenant.yaml\n")
    assert check(HEAD + "extends: _a.yaml\n") == [
        "_a.yaml:2:10: extends: extends itself through a cycle (tenant.yaml)"
    ]


def test_json_format_for_ci(runner, tmp_path, monkeypatch):
    from cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.yaml").write_text(HEAD + "  locale: fr\n")
    result = runner.invoke(main, ["validate", "--format", "json", "t.yaml"])
    assert result.exit_code == 1
    assert json.loads(result.output) == [{
        "file": "t.yaml", "line": 5, "column": 11, "path": "tenant.locale",
        "message": 'expected one of: pt-BR, en, es (got "fr")', "severity": "error"}]


def test_the_shipped_tenants_are_valid():
    from generator.build import find_tenants
    from tests.conftest import ROOT

    for path in find_tenants(ROOT / "tenants"):
        assert validate_file(str(path)).diagnostics == [], path


def test_template_overrides_are_checked(check, tmp_path):
    folder = tmp_path / "overrides"
    (folder / "auth").mkdir(parents=True)
    (folder / "theme").mkdir()
    (folder / "errors").mkdir()
    files = {
        "footer.html": '{% extends "footer.html" %}\n{% block extra %}CNPJ{% endblock %}\n',
        "layout.html": ('{% extends "theme/layout.html" %}\n{% block head %}{% endblock %}\n'
                        "{% block topbar %}{% block mine %}{% endblock %}{% endblock %}\n"
                        "{% block sidbar %}{% endblock %}\n"),
        "staff_layout.html": '{% extends "theme/staf_layout.html" %}\n',
        "auth_layout.html": '{% extends "theme/auth_layout.html" %}\n\n{% block below_form %}\n',
        "auth/login.html": '{% extends "theme/auth/login.html" %}\n',
        "theme/footer.html": "<footer></footer>\n",
        "error.html": "{% trans %}Sorry{% endtrans %} {{ _('Sorry') }}\n",  # the portal's tags
        # the error page extends one of three layouts: a block of any of them is fine
        "errors/error.html": ('{% extends "theme/errors/error.html" %}\n'
                              "{% block head %}{% endblock %}\n"),
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "latin1.html").write_bytes("Atenção".encode("latin-1"))
    (folder / ".DS_Store").write_bytes(b"\x00\x01\xff")  # not a template: left alone
    assert check(HEAD + "branding:\n  templates: overrides/\n") == [
        'overrides/auth/login.html:1:1: the theme has no template "theme/auth/login.html"; '
        'did you mean "theme/auth_layout.html"?',  # where the sign-in blocks are
        "overrides/auth_layout.html:3:1: template syntax: Unexpected end of template. Jinja "
        "was looking for the following tags: 'endblock'. The innermost block that needs to be "
        "closed is 'block'.",
        'overrides/footer.html:1:1: extends "footer.html" names this file itself, which repeats '
        'forever; write "theme/footer.html" for the theme\'s own footer.html',
        'overrides/latin1.html:1:1: not UTF-8 text; save the template as UTF-8',
        'overrides/layout.html:4:1: block "sidbar" is not in the theme\'s layout.html, so it '
        'would never show; did you mean "sidebar"? (its blocks: banner, body, body_class, '
        "brand, brand_badge, brand_link, content, footer, head, menu, menu_label, scripts, "
        "sidebar, title, topbar, user_icon, user_menu, user_menu_entries, user_menu_more, "
        "view_switch)",
        'overrides/staff_layout.html:1:1: the theme has no template "theme/staf_layout.html"; '
        'did you mean "theme/staff_layout.html"?',
        'overrides/theme/footer.html:1:1: the folder "theme/" is reserved: "theme/<name>" names '
        "the theme's own templates; move this file out of it",
    ]


def test_the_demo_tenant_override_extends_the_theme(monkeypatch):
    from tests.conftest import ROOT

    monkeypatch.chdir(ROOT)
    assert validate_file("tenants/aurora/tenant.yaml").diagnostics == []
    text = (ROOT / "tenants/aurora/overrides/footer.html").read_text(encoding="utf-8")
    assert '{% extends "theme/footer.html" %}' in text and "<footer" not in text
