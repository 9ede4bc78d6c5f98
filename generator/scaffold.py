"""`portal new`: a starter tenant that shows the whole product, valid as written.

Three ways to start (no Flask is imported here):

- `portal new ID [--locale pt-BR|en|es]`: a complete file in that language, the service
  tree of the shipped base of that locale (`tenants/_base/construtora.yaml`, `.en.yaml`,
  `.es.yaml`) written inline, every module this release implements with sensible settings,
  a menu, and a placeholder logo (the company's initials on its primary colour);
- `portal new ID --from tenants/aurora/tenant.yaml`: a copy of an existing tenant, its
  folder (assets, pages, overrides) included, with `tenant.id` and `tenant.name` renamed and
  its own domains left out;
- `portal new ID --from tenants/_base/construtora.es.yaml`: the starter, extending that base
  instead of writing the service tree inline (its locale follows the base's file name).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

from .loader import parse
from .resources import data_folder
from .schema import SCHEMA_PATH, load_schema

LOCALES = ("pt-BR", "en", "es")
BASE_NAME = "construtora"


class ScaffoldError(Exception):
    pass


def base_file(locale: str) -> Path:
    """The shipped base of a locale: construtora.yaml (pt-BR), construtora.en.yaml, .es.yaml."""
    suffix = "" if locale == "pt-BR" else f".{locale}"
    return data_folder("tenants") / "_base" / f"{BASE_NAME}{suffix}.yaml"


def base_locale(path: Path) -> str | None:
    """`construtora.es.yaml` -> "es"; a base without a locale suffix is pt-BR."""
    parts = path.name.split(".")
    if len(parts) >= 3 and parts[-2] in ("en", "es"):
        return parts[-2]
    return "pt-BR" if path.name.startswith("_") or path.parent.name.startswith("_") else None


# (primary, secondary, background, text, menu_background): dark primaries, so that white
# initials on the logo and white menu text pass WCAG AA
PALETTES = (
    ("#0B4F8A", "#F2A900", "#F5F7FA", "#1F2933", "#0B4F8A"),
    ("#1B5E20", "#F9A825", "#F6F8F4", "#1F2A1F", "#1B5E20"),
    ("#7B1F3A", "#E0A526", "#FAF6F7", "#2A1F22", "#7B1F3A"),
    ("#3A3F8F", "#F0B429", "#F6F6FB", "#1F2233", "#3A3F8F"),
    ("#005F73", "#EE9B00", "#F3F8F9", "#1B2A2F", "#005F73"),
)

TEXTS = {
    "pt-BR": {
        "timezone": "America/Sao_Paulo", "email": "atendimento@example.com",
        "phone": "+55 11 4000-0000",
        "documents": ["Planta", "Contrato", "Manual do Proprietário", "Memorial Descritivo"],
        "boleto": "2ª via de boleto", "statement": "Extrato financeiro",
        "renegotiation": "Renegociação",
        "faq": [("Quando recebo as chaves?",
                 "A entrega segue o cronograma da obra, exibido em **Meu Imóvel**. Você recebe "
                 "um aviso com a data da vistoria."),
                ("Como falo com a assistência técnica?",
                 "Em **Entrar em contato**, escolha *Assistência Técnica* e descreva o problema. "
                 "Você acompanha tudo em **Meus atendimentos**.")],
        "vouchers": "Clube de Vantagens", "categories": ["Casa", "Lazer", "Saúde", "Serviços"],
        "survey": [("nps", "nps", "De 0 a 10, quanto você nos recomendaria a um amigo?"),
                   ("atendimento", "rating", "Como você avalia o nosso atendimento?")],
        "visit": "Visita à obra", "inspection": "Vistoria de entrega",
        "menu": {"notices": "Avisos", "home": "Meu Imóvel", "construction": "Acompanhe a Obra",
                 "documents": "Documentos", "unit": "Minha Unidade",
                 "contracts": "Meus contratos", "contact": "Entrar em contato",
                 "tickets": "Meus atendimentos", "finance": "Financeiro",
                 "survey": "Pesquisa de satisfação", "scheduling": "Agendamentos",
                 "faq": "Perguntas frequentes"},
        "comment": "Arquivo do portal de {name}. Cada chave está descrita no schema acima.",
    },
    "en": {
        "timezone": "America/New_York", "email": "help@example.com",
        "phone": "+1 212 555 0100",
        "documents": ["Floor plan", "Contract", "Owner's manual", "Specifications"],
        "boleto": "Copy of a payment slip", "statement": "Account statement",
        "renegotiation": "Renegotiation",
        "faq": [("When do I get my keys?",
                 "Handover follows the construction schedule shown in **My home**. You get a "
                 "notice with the inspection date."),
                ("How do I reach technical assistance?",
                 "In **Contact us**, choose *Technical assistance* and describe the problem. "
                 "You follow everything in **My requests**.")],
        "vouchers": "Benefits club", "categories": ["Home", "Leisure", "Health", "Services"],
        "survey": [("nps", "nps", "From 0 to 10, how likely are you to recommend us to a friend?"),
                   ("service", "rating", "How do you rate our service?")],
        "visit": "Site visit", "inspection": "Handover inspection",
        "menu": {"notices": "News", "home": "My home", "construction": "Construction progress",
                 "documents": "Documents", "unit": "My unit", "contracts": "My contracts",
                 "contact": "Contact us", "tickets": "My requests", "finance": "Finance",
                 "survey": "Satisfaction survey", "scheduling": "Appointments",
                 "faq": "Questions and answers"},
        "comment": "Portal file of {name}. Every key is described in the schema above.",
    },
    "es": {
        "timezone": "America/Argentina/Buenos_Aires", "email": "atencion@example.com",
        "phone": "+54 11 4000-0000",
        "documents": ["Plano", "Contrato", "Manual del propietario", "Memoria descriptiva"],
        "boleto": "Segunda vía de la boleta", "statement": "Estado de cuenta",
        "renegotiation": "Renegociación",
        "faq": [("¿Cuándo recibo las llaves?",
                 "La entrega sigue el cronograma de la obra, que se muestra en **Mi inmueble**. "
                 "Usted recibe un aviso con la fecha de la inspección."),
                ("¿Cómo hablo con la asistencia técnica?",
                 "En **Contáctenos**, elija *Asistencia técnica* y describa el problema. Usted "
                 "sigue todo en **Mis solicitudes**.")],
        "vouchers": "Club de beneficios", "categories": ["Hogar", "Ocio", "Salud", "Servicios"],
        "survey": [("nps", "nps", "Del 0 al 10, ¿cuánto nos recomendaría a un amigo?"),
                   ("atencion", "rating", "¿Cómo evalúa nuestra atención?")],
        "visit": "Visita a la obra", "inspection": "Inspección de entrega",
        "menu": {"notices": "Novedades", "home": "Mi inmueble",
                 "construction": "Avance de la obra", "documents": "Documentos",
                 "unit": "Mi unidad", "contracts": "Mis contratos", "contact": "Contáctenos",
                 "tickets": "Mis solicitudes", "finance": "Finanzas",
                 "survey": "Encuesta de satisfacción", "scheduling": "Turnos",
                 "faq": "Preguntas frecuentes"},
        "comment": "Archivo del portal de {name}. Cada clave está descrita en el schema de arriba.",
    },
}


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _available(module: str) -> bool:
    """A module this release implements (its schema fragment is not marked x-planned)."""
    fragment = load_schema().get("properties", {}).get("modules", {}).get("properties", {})
    entry = fragment.get(module)
    return entry is not None and not entry.get("x-planned")


def initials(name: str) -> str:
    words = [w for w in re.split(r"[\s-]+", name) if w and w[0].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "P"


def logo_svg(name: str, primary: str) -> str:
    """A placeholder logo: the initials on a rounded square of the primary colour, the name."""
    from xml.sax.saxutils import escape

    label = escape(name, {'"': "&quot;"})
    width = max(160, 72 + 12 * len(name))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="56" '
        f'viewBox="0 0 {width} 56" role="img" aria-label="{label}">\n'
        f'  <rect x="2" y="4" width="48" height="48" rx="11" fill="{primary}"/>\n'
        f'  <text x="26" y="36" text-anchor="middle" font-family="Inter, Arial, sans-serif" '
        f'font-size="20" font-weight="700" fill="#FFFFFF">{escape(initials(name))}</text>\n'
        f'  <text x="60" y="35" font-family="Inter, Arial, sans-serif" font-size="19" '
        f'font-weight="700" fill="{primary}">{escape(name)}</text>\n'
        "</svg>\n"
    )


def _base_body(path: Path) -> str:
    """A base's keys as written (comments kept), without its header and schema_version."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("schema_version"))
    return "\n".join(lines[start + 1:]).strip("\n") + "\n"


def _modules(t: dict) -> list[str]:
    out = ["modules:",
           "  notices:", "    timeline: true",
           "  construction:", "    history: 3",
           "  documents:", f"    categories: [{', '.join(_q(c) for c in t['documents'])}]",
           "  unit: {}",
           "  contracts: {}",
           "  tickets:", "    evaluation: true",
           "    filters: [all, my_action, awaiting_company, finished, cancelled]",
           "  finance:", "    items:",
           "      - id: boleto", f"        label: {_q(t['boleto'])}",
           "        url: https://erp.example.com/portal/boleto?document={customer.document}",
           "      - id: statement", f"        label: {_q(t['statement'])}",
           "        url: https://erp.example.com/portal/statement?customer={customer.id}",
           "      - id: renegotiation", f"        label: {_q(t['renegotiation'])}",
           "        ticket: { division: financeiro, request: renegociacao }",
           "  faq:", "    items:"]
    for q, a in t["faq"]:
        out += [f"      - q: {_q(q)}", f"        a: {_q(a)}"]
    out += ["  profile:", "    editable: [email, phone, address]",
            "    change_request: { division: relacionamento, request: alteracao-cadastral }",
            "  vouchers:", f"    title: {_q(t['vouchers'])}",
            f"    categories: [{', '.join(_q(c) for c in t['categories'])}]"]
    if _available("survey"):
        out += ["  survey:", "    first_login: true", "    questions:"]
        out += [f"      - {{ id: {i}, type: {kind}, text: {_q(text)} }}"
                for i, kind, text in t["survey"]]
    if _available("scheduling"):
        out += ["  scheduling:", "    hours: { weekdays: [mon, tue, wed, thu, fri], "
                'start: "09:00", end: "17:00" }', "    types:",
                f"      - {{ id: visita, label: {_q(t['visit'])}, duration_minutes: 60 }}",
                f"      - {{ id: vistoria, label: {_q(t['inspection'])}, duration_minutes: 90 }}"]
    return out


def _menu(t: dict) -> list[str]:
    m = t["menu"]

    def entry(key: str, icon: str | None, module: str | None = None, indent: str = "  ") -> str:
        icon_part = f", icon: {icon}" if icon else ""
        return f"{indent}- {{ label: {_q(m[key])}{icon_part}, module: {module or key} }}"

    out = ["menu:", entry("notices", "megaphone"),
           f"  - label: {_q(m['home'])}", "    icon: house", "    children:"]
    out += [entry(k, None, indent="      ") for k in ("construction", "documents", "unit",
                                                      "contracts")]
    out += [f"  - {{ label: {_q(m['contact'])}, icon: chat, division_group: contato }}",
            entry("tickets", "inbox"), entry("finance", "cash"),
            f"  - {{ label: {_q(t['vouchers'])}, icon: gift, module: vouchers }}"]
    if _available("scheduling"):
        out.append(entry("scheduling", "calendar-event"))
    if _available("survey"):
        out.append(entry("survey", "clipboard-check"))
    out.append(entry("faq", "question-circle"))
    return out


def starter(tenant_id: str, name: str, locale: str, schema: str, path: str,
            extends: str | None = None) -> tuple[str, str]:
    """The starter's YAML text and its logo's SVG."""
    t = TEXTS[locale]
    primary, secondary, background, text, menu = PALETTES[
        int(hashlib.sha256(tenant_id.encode()).hexdigest(), 16) % len(PALETTES)]
    lines = [f"# yaml-language-server: $schema={schema}",
             f"# {t['comment'].format(name=name)}",
             f"#   portal validate {path}",
             "schema_version: 1"]
    if extends:
        lines.append(f"extends: {extends}")
    lines += ["", "tenant:", f"  id: {tenant_id}", f"  name: {_q(name)}", f"  locale: {locale}",
              f"  timezone: {t['timezone']}", f"  support_email: {t['email']}",
              f"  support_phone: {_q(t['phone'])}", "",
              "branding:", "  logo: assets/logo.svg", "  colors:",
              f'    primary: "{primary}"', f'    secondary: "{secondary}"',
              f'    background: "{background}"', f'    text: "{text}"',
              f'    menu_background: "{menu}"', ""]
    body = "\n".join(lines) + "\n"
    if not extends:
        body += _base_body(base_file(locale)) + "\n"
    body += "\n".join(_modules(t)) + "\n\n" + "\n".join(_menu(t)) + "\n"
    return body, logo_svg(name, primary)


def _check_id(tenant_id: str) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9-]{1,40}", tenant_id):
        raise ScaffoldError(f'"{tenant_id}" is not a tenant id: use a lower-case letter, then '
                            "1 to 40 of a-z, 0-9 or -")


def _source_file(source: str, folder: Path) -> Path:
    """--from: a tenant file, a tenant's folder or id under --dir, or a base."""
    candidates = [Path(source), Path(source) / "tenant.yaml", folder / source / "tenant.yaml",
                  folder / "_base" / source, folder / "_base" / f"{source}.yaml",
                  data_folder("tenants") / source / "tenant.yaml",
                  data_folder("tenants") / "_base" / f"{source}.yaml"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ScaffoldError(f"--from {source}: no tenant or base file there (give a path such as "
                        "tenants/aurora/tenant.yaml or tenants/_base/construtora.en.yaml)")


def _is_base(path: Path) -> bool:
    return path.name.startswith("_") or any(p.startswith("_") for p in path.parent.parts[-1:])


def scaffold(tenant_id: str, folder: Path, locale: str | None = None,
             source: str | None = None) -> Path:
    """Write folder/ID/tenant.yaml (and its assets) and return its path; refuse to overwrite."""
    _check_id(tenant_id)
    if locale is not None and locale not in LOCALES:
        raise ScaffoldError(f'unknown locale "{locale}": use one of {", ".join(LOCALES)}')
    target = folder / tenant_id
    path = target / "tenant.yaml"
    if path.exists() or (target.exists() and any(target.iterdir())):
        raise ScaffoldError(f"{target} exists already; edit it or choose another id")
    name = tenant_id.replace("-", " ").title()
    origin = _source_file(source, folder) if source else None
    if origin is not None and not _is_base(origin):
        own = parse(str(origin)).data.get("tenant") or {}
        if locale is not None and own.get("locale") != locale:
            raise ScaffoldError(f"--locale {locale}: a copy keeps the language of {origin} "
                                f"({own.get('locale')}); start from a base of that language "
                                "instead, e.g. --from tenants/_base/construtora.es.yaml")
        return _copy(origin, tenant_id, name, target)
    extends = None
    if origin is not None:
        locale = locale or base_locale(origin) or "pt-BR"
        extends = os.path.relpath(origin.resolve(), target.resolve())
    locale = locale or "pt-BR"
    schema = os.path.relpath(SCHEMA_PATH, target.resolve())
    text, logo = starter(tenant_id, name, locale, schema, str(path), extends)
    (target / "assets").mkdir(parents=True, exist_ok=True)
    (target / "assets" / "logo.svg").write_text(logo, encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    return path


def _copy(origin: Path, tenant_id: str, name: str, target: Path) -> Path:
    """Copy a tenant's folder; rename tenant.id and tenant.name, leave its domains out."""
    own = parse(str(origin))  # this file's own positions, not its base's
    shutil.copytree(origin.parent, target, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    path = target / "tenant.yaml"
    if origin.name != "tenant.yaml":
        (target / origin.name).rename(path)
    lines = origin.read_text(encoding="utf-8").splitlines(keepends=True)
    edits = [(own.locs[("tenant", key)], value)
             for key, value in (("id", tenant_id), ("name", _q(name)))
             if ("tenant", key) in own.locs and own.locs[("tenant", key)].raw]
    for loc, value in sorted(edits, key=lambda e: (e[0].line, e[0].column), reverse=True):
        text = lines[loc.line - 1]
        start = text.find(loc.raw, loc.column - 1)
        if start >= 0:
            lines[loc.line - 1] = text[:start] + value + text[start + len(loc.raw):]
    domains = own.locs.get(("tenant", "domains"))
    if domains is not None:  # the old company's addresses: the new one has its own
        first = domains.key_line - 1
        indent = len(lines[first]) - len(lines[first].lstrip())
        last = first + 1
        while last < len(lines) and lines[last].strip() and \
                len(lines[last]) - len(lines[last].lstrip()) > indent:
            last += 1
        del lines[first:last]
    for i, text in enumerate(lines):
        if text.startswith("extends:") and isinstance(own.data.get("extends"), str):
            rel = os.path.relpath((origin.parent / own.data["extends"]).resolve(),
                                  target.resolve())
            lines[i] = f"extends: {rel}\n"
        elif text.startswith("# yaml-language-server: $schema="):
            schema = os.path.relpath(SCHEMA_PATH, target.resolve())
            lines[i] = f"# yaml-language-server: $schema={schema}\n"
    path.write_text("".join(lines), encoding="utf-8")
    return path
