"""Deploy bundles: Kubernetes manifests, a Compose project or systemd units for built instances.

`portal deploy INSTANCE_OR_DIR --target kubernetes|compose|systemd --out D` reads each
instance's release/config.json (id, name, domains, SMTP password variable) and renders the
templates beside this file. Pure Python and Jinja2: no Flask.

With `--fleet`, a folder of instances gets one set of workloads for all of them: the web
server is the fleet entry (runtime/fleet.py), the migration and the mail worker take
`--all`, the database is shared with a schema per tenant (DATABASE_SCHEMA=t_{tenant}), and
no secret key is given: each tenant generates its own into its data folder (runtime/
settings.py), as the fleet refuses one key for all. The same templates render both, with
`shared` set and the fleet standing where the one instance stood.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

TARGETS = ("kubernetes", "compose", "systemd")
TEMPLATES = Path(__file__).resolve().parent / "templates"
FLEET_ID = "fleet"  # names the fleet's workloads (fleet-web, fleet-portal ...)
HOME = "/srv/portals"  # where the bundles put the instances


class DeployError(Exception):
    """A bundle cannot be written (no instance there, an existing file in the way)."""


@dataclass(frozen=True)
class Instance:
    """What a bundle needs to know of one built instance."""

    path: Path
    id: str
    name: str
    domains: tuple[str, ...]
    release: str  # the release folder's hash: names the migration Job and the image tag
    smtp_password_env: str | None

    @property
    def hosts(self) -> tuple[str, ...]:
        """The tenant's domains, or `<id>.localhost` for a tenant that has none yet."""
        return self.domains or (f"{self.id}.localhost",)


@dataclass
class Options:
    """Choices a consultant makes per deployment (command-line options)."""

    registry: str = "registry.example.com/portals"
    namespace: str = "portals"
    prefix: str = "/opt/portal"  # the virtual environment the package is installed into
    upload_max_mb: int = 10
    base_image: str = "portal-generator:0.1.0"
    extra: dict = field(default_factory=dict)

    @property
    def body_limit_mb(self) -> int:
        """The largest request the portal accepts (runtime/settings.py MAX_CONTENT_LENGTH)."""
        return max(64, self.upload_max_mb + 16)


def read_instance(path: Path) -> Instance:
    """The instance built by `portal build` at PATH, from its release/config.json."""
    config_file = path / "release" / "config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployError(f"{path}: not a built instance (no release/config.json); "
                          f"run portal build first") from None
    except ValueError as exc:
        raise DeployError(f"{config_file}: unreadable ({exc}); rebuild the instance") from None
    tenant = config["tenant"]
    email = (config.get("integrations") or {}).get("email") or {}
    return Instance(path=path.resolve(), id=tenant["id"], name=tenant["name"],
                    domains=tuple(tenant.get("domains") or ()),
                    release=(path / "release").resolve().name,
                    smtp_password_env=email.get("password_env"))


def find_instances(path: Path) -> list[Instance]:
    """One instance, or every instance directly under a fleet folder (sorted by id)."""
    if not path.is_dir():
        raise DeployError(f"{path}: no such folder")
    if (path / "release").exists():
        return [read_instance(path)]
    found = [read_instance(child) for child in sorted(path.iterdir())
             if (child / "release" / "config.json").is_file()]
    if not found:
        raise DeployError(f"{path}: neither a built instance nor a folder of built instances "
                          f"(run portal build --out {path} first)")
    return found


def warnings(source: Path) -> list[str]:
    """What a consultant should fix before going live with the bundle for SOURCE."""
    return [f"{i.id}: tenant.domains is empty, so the bundle answers only {i.hosts[0]} "
            f"(and TLS cannot be issued for it); add the portal's domains to the tenant file "
            f"and rebuild" for i in find_instances(source) if not i.domains]


def fleet_unit(instances: list[Instance], source: Path) -> Instance:
    """The fleet seen as one instance: every tenant's domains, a release naming all releases.

    The release changes whenever one tenant's does, so the image tag and the migration Job's
    name change with it, as they do per tenant.
    """
    releases = ",".join(f"{i.id}:{i.release}" for i in instances)
    return Instance(path=source.resolve(), id=FLEET_ID,
                    name=f"the fleet of {len(instances)} tenants",
                    domains=tuple(host for i in instances for host in i.hosts),
                    release=hashlib.sha256(releases.encode()).hexdigest()[:10],
                    smtp_password_env=None)


def _fleet_smtp(instances: list[Instance]) -> list[tuple[str, str]]:
    """(variable, secret key) of each SMTP password variable the tenants name, once each.

    One process has one environment: tenants naming the same variable share its value.
    """
    names = sorted({i.smtp_password_env for i in instances if i.smtp_password_env})
    return [(name, name) for name in names]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["json"] = lambda value: json.dumps(value, ensure_ascii=False)
    return env


def _copy_release(instance: Instance, target: Path) -> None:
    """The instance's wsgi.py and current release (never data/), for an image layer."""
    folder = target / instance.id
    releases = folder / ".releases"
    releases.mkdir(parents=True)
    shutil.copy2(instance.path / "wsgi.py", folder / "wsgi.py")
    shutil.copytree(instance.path / "release", releases / instance.release, symlinks=False,
                    ignore=shutil.ignore_patterns(".lock"))
    # present in the image: a read-only root filesystem cannot create the lock file later
    (releases / instance.release / ".lock").touch()
    (folder / "release").symlink_to(f".releases/{instance.release}")


def _write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def write_bundle(source: Path, target: str, out: Path, options: Options | None = None,
                 shared: bool = False) -> list[Path]:
    """Write the bundle for every instance found at SOURCE into OUT; the files written.

    shared: one set of workloads serving every instance (the fleet entry), not one each.
    """
    if target not in TARGETS:
        raise DeployError(f"unknown target {target!r}: choose one of {', '.join(TARGETS)}")
    instances = find_instances(source)
    if out.exists() and any(out.iterdir()):
        raise DeployError(f"{out}: not empty; choose a new folder (a bundle holds secrets "
                          f"and is never merged into an old one)")
    out.mkdir(parents=True, exist_ok=True)
    unit = fleet_unit(instances, source)
    context = {"instances": instances, "o": options or Options(), "fleet": len(instances) > 1,
               "source": source.resolve(), "target": target, "shared": shared,
               "unit": unit, "units": [unit] if shared else instances,
               "app": f'runtime.fleet:Fleet("{HOME}")' if shared else "wsgi:app",
               "fleet_smtp": _fleet_smtp(instances),
               "secret": lambda: secrets.token_urlsafe(48)}
    env = _environment()
    written = _render_files(env, context, out)
    images = FLEET_IMAGES if shared else IMAGES
    if target in images:
        written += images[target](env, context, out)
    written.append(_write(out / "README.md", env.get_template("README.md.j2").render(context)))
    return written


def _render_files(env: jinja2.Environment, context: dict, out: Path) -> list[Path]:
    """The target's own files (FILES), one per instance where the name holds ID."""
    written = []
    files = FILES[context["target"]]
    if context["shared"]:  # one database for all: nothing to create per tenant
        files = tuple(f for f in files if f[0] not in PER_TENANT_ONLY)
    for name, mode, per_instance in files:
        template = env.get_template(f"{context['target']}/{name}.j2")
        written_name = OUTPUT_NAMES.get(name, name)
        for instance in (context["units"] if per_instance else (None,)):
            path = out / (written_name.replace("ID", instance.id) if instance else written_name)
            written.append(_write(path, template.render(context, instance=instance), mode))
    return written


def _tenant_images(env: jinja2.Environment, context: dict, out: Path) -> list[Path]:
    """Kubernetes: one image per tenant, so no tenant's release is in another's image."""
    written = []
    for instance in context["instances"]:
        folder = out / "image" / instance.id
        text = env.get_template("image/Dockerfile.j2").render(context, instances=[instance])
        written.append(_write(folder / "Dockerfile", text))
        _copy_release(instance, folder / "instances")
    return written


def _project_image(env: jinja2.Environment, context: dict, out: Path) -> list[Path]:
    """Compose: one project, one image holding every release, and nginx's image beside it.

    Kubernetes with --fleet: the one image the fleet's workloads run (no nginx: the Ingress).
    """
    folder = out / "image"
    for instance in context["instances"]:
        _copy_release(instance, folder / "instances")
    written = [_write(folder / "Dockerfile",
                      env.get_template("image/Dockerfile.j2").render(context))]
    if context["target"] == "compose":
        nginx = env.get_template("nginx.conf.j2").render(context, upstream="compose")
        written.append(_write(folder / "nginx.conf", nginx))
    return written


IMAGES = {"kubernetes": _tenant_images, "compose": _project_image}
FLEET_IMAGES = {"kubernetes": _project_image, "compose": _project_image}


# a template that would be a hidden file (not packaged) is named without its dot
OUTPUT_NAMES = {"env": ".env"}
# templates a fleet bundle does without (its tenants share one database)
PER_TENANT_ONLY = ("initdb/01-databases.sql",)
# per target: (template name, file mode, one file per instance?); ID is the tenant id, or
# FLEET_ID for a fleet bundle (one file for the fleet)
FILES: dict[str, tuple[tuple[str, int, bool], ...]] = {
    "kubernetes": (("ID.yaml", 0o644, True), ("deploy.sh", 0o755, False)),
    "compose": (("compose.yaml", 0o644, False), ("env", 0o600, False),
                ("initdb/01-databases.sql", 0o644, False)),
    "systemd": (("portal-ID.service", 0o644, True), ("portal-ID-outbox.service", 0o644, True),
                ("portal-ID.env", 0o600, True), ("tmpfiles-portal-ID.conf", 0o644, True),
                ("nginx-portal-ID.conf", 0o644, True)),
}
