"""`portal new`: a tenant file that validates as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .schema import SCHEMA_PATH


class ScaffoldError(Exception):
    pass


TEMPLATE = """\
# yaml-language-server: $schema={schema}
# Tenant file of {name}. Every key is described in the schema above: editors with
# the YAML extension complete and check it as you type. Validate with:
#   portal validate {path}
schema_version: 1

tenant:
  id: {id}
  name: {name}
  locale: pt-BR
  timezone: America/Sao_Paulo
  support_email: atendimento@example.com
  support_phone: "+55 11 4000-0000"

branding:
  colors:
    primary: "#0B4F8A"
    secondary: "#F2A900"
    background: "#F5F7FA"
    text: "#1F2933"
    menu_background: "#0B4F8A"

modules:
  notices:
    timeline: true
  faq:
    items:
      - q: Como falo com a empresa?
        a: Pelo e-mail atendimento@example.com.

menu:
  - {{ label: Avisos, icon: megaphone, module: notices }}
  - {{ label: Perguntas frequentes, icon: question-circle, module: faq }}
"""


def scaffold(tenant_id: str, folder: Path) -> Path:
    """Write folder/ID/tenant.yaml and return its path; refuse to overwrite."""
    if not re.fullmatch(r"[a-z][a-z0-9-]{1,40}", tenant_id):
        raise ScaffoldError(f'"{tenant_id}" is not a tenant id: use a lower-case letter, then '
                            "1 to 40 of a-z, 0-9 or -")
    path = folder / tenant_id / "tenant.yaml"
    if path.exists():
        raise ScaffoldError(f"{path} exists already; edit it or choose another id")
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = os.path.relpath(SCHEMA_PATH, path.parent.resolve())
    name = tenant_id.replace("-", " ").title()
    path.write_text(TEMPLATE.format(schema=schema, id=tenant_id, name=name, path=path),
                    encoding="utf-8")
    return path
