"""Deploy bundles (`portal deploy`) and the health endpoints their probes call."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cli import main
from tests.conftest import FIXTURES, make_app, redis_config

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(__file__).resolve().parent.parent / ".venv"
SECRET_ENV = {"PORTAL_SECRET_KEY": "secret-key", "PORTAL_DATABASE_URL": "database-url",
              "PORTAL_REDIS_URL": "redis-url", "HOMES_SMTP_PASSWORD": "smtp-password"}

# -- health ------------------------------------------------------------------------------


def test_liveness_answers_without_the_database(built_instance):
    from runtime import create_app

    # a PostgreSQL server that is down: nothing listens on port 1
    down = "postgresql+psycopg://portal@127.0.0.1:1/portal?connect_timeout=2"
    client = create_app(built_instance, {"TESTING": True,
                                         "SQLALCHEMY_DATABASE_URI": down}).test_client()
    live = client.get("/healthz")
    assert live.status_code == 200 and live.get_json()["status"] == "ok"
    ready = client.get("/healthz/ready")
    assert ready.status_code == 503
    assert ready.get_json() == {"status": "unavailable", "tenant": "minimal",
                                "checks": {"database": "failed"}, "failed": ["database"]}
    assert "5432" not in ready.get_data(as_text=True) and ":1" not in ready.get_data(as_text=True)


def test_readiness_checks_the_database(app):
    answer = app.test_client().get("/healthz/ready")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok", "tenant": "minimal",
                                 "checks": {"database": "ok"}}


def test_readiness_names_redis_when_it_is_down(built_instance):
    app = make_app(built_instance, PORTAL_REDIS_URL="redis://127.0.0.1:1/0")
    answer = app.test_client().get("/healthz/ready")
    assert answer.status_code == 503
    assert answer.get_json()["failed"] == ["redis"]
    assert answer.get_json()["checks"] == {"database": "ok", "redis": "failed"}
    assert "127.0.0.1" not in answer.get_data(as_text=True)  # details go to the log only


def test_readiness_with_redis(built_instance, redis_url):
    app = make_app(built_instance, **redis_config(redis_url))
    answer = app.test_client().get("/healthz/ready")
    assert answer.status_code == 200
    assert answer.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_probes_open_no_session(sqlite_app):
    client = sqlite_app.test_client()
    for path in ("/healthz", "/healthz/ready"):
        answer = client.get(path)
        assert answer.status_code == 200
        assert "Set-Cookie" not in answer.headers
        assert answer.headers["Cache-Control"]  # the portal's headers still apply


# -- bundles -----------------------------------------------------------------------------


def _tenant(tmp_path: Path, tenant_id: str, domains: list[str]) -> Path:
    """The minimal tenant under another id, with domains and an SMTP password variable."""
    folder = tmp_path / "tenants" / tenant_id
    shutil.copytree(FIXTURES / "tenants" / "minimal", folder)
    doc = folder / "tenant.yaml"
    text = doc.read_text().replace("id: minimal", f"id: {tenant_id}")
    text = text.replace("  support_email:", "  domains: [" + ", ".join(domains) + "]\n"
                        "  support_email:", 1)
    text += ("integrations:\n  email:\n    host: smtp.homes.example\n    port: 587\n"
             "    username: portal@homes.example\n    password_env: HOMES_SMTP_PASSWORD\n"
             "    from: \"Homes <portal@homes.example>\"\n")
    doc.write_text(text)
    return doc


@pytest.fixture
def fleet(tmp_path) -> Path:
    from generator.build import build

    out = tmp_path / "fleet"
    build(str(_tenant(tmp_path, "homes", ["portal.homes.example", "homes.example"])), out)
    build(str(_tenant(tmp_path, "villa-sol", ["portal.villasol.example"])), out)
    return out


def _deploy(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["deploy", *map(str, args)])
    return result.exit_code, result.output


def _documents(path: Path) -> dict[str, dict]:
    return {f"{d['kind']}/{d['metadata']['name']}": d
            for d in yaml.safe_load_all(path.read_text()) if d}


def test_kubernetes_bundle_is_valid_and_complete(fleet, tmp_path):
    import kubernetes_validate

    out = tmp_path / "k8s"
    code, output = _deploy(fleet / "homes", "--target", "kubernetes", "--out", out,
                           "--registry", "registry.example.com/p/", "--upload-max-mb", "60")
    assert code == 0, output
    assert "README.md" in output
    manifest = out / "homes.yaml"
    docs = _documents(manifest)
    for doc in docs.values():
        kubernetes_validate.validate(doc, "1.37.0", strict=True)
    release = (fleet / "homes" / "release").resolve().name
    assert set(docs) == {"PersistentVolumeClaim/homes-data", f"Job/homes-migrate-{release}",
                         "Deployment/homes-web", "Deployment/homes-mail", "Service/homes-web",
                         "Ingress/homes-web", "PodDisruptionBudget/homes-web",
                         "HorizontalPodAutoscaler/homes-web"}

    web = docs["Deployment/homes-web"]["spec"]
    assert web["replicas"] >= 2
    assert web["selector"]["matchLabels"].items() <= web["template"]["metadata"]["labels"].items()
    pod = web["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == f"registry.example.com/p/homes:{release}"
    assert container["command"][0] == "gunicorn" and container["command"][-1] == "wsgi:app"
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"] and container["resources"]["limits"]

    for name in ("Deployment/homes-web", "Deployment/homes-mail", f"Job/homes-migrate-{release}"):
        spec = docs[name]["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        (box,) = spec["containers"]
        assert box["securityContext"]["readOnlyRootFilesystem"] is True
        assert box["securityContext"]["allowPrivilegeEscalation"] is False
        mounts = {m["mountPath"]: m["name"] for m in box["volumeMounts"]}
        assert mounts == {"/srv/portals/homes/data": "data", "/tmp": "tmp"}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "homes-data"
        assert "emptyDir" in volumes["tmp"]
        env = {e["name"]: e for e in box["env"]}
        for variable, key in SECRET_ENV.items():  # secrets only by reference
            assert env[variable]["valueFrom"]["secretKeyRef"] == {"name": "homes-portal",
                                                                 "key": key}
        assert env["PORTAL_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"] == {
            "name": "homes-portal", "key": "metrics-token", "optional": True}
        assert env["PORTAL_PROXY_COUNT"]["value"] == "1"
        assert env["PORTAL_UPLOAD_MAX_MB"]["value"] == "60"
        # the workers' metrics files: the web server's only, on the in-memory /tmp
        multiproc = env.get("PROMETHEUS_MULTIPROC_DIR", {}).get("value")
        assert multiproc == ("/tmp/prometheus" if name == "Deployment/homes-web" else None)
    assert container["command"][1:3] == ["-c", "python:runtime.gunicorn_conf"]

    assert docs["Deployment/homes-mail"]["spec"]["template"]["spec"]["containers"][0][
        "command"] == ["portal", "outbox", "work", "/srv/portals/homes"]
    job = docs[f"Job/homes-migrate-{release}"]["spec"]["template"]["spec"]["containers"][0]
    assert job["command"] == ["portal", "db", "upgrade", "/srv/portals/homes"]
    assert docs["PersistentVolumeClaim/homes-data"]["spec"]["accessModes"] == ["ReadWriteMany"]

    ingress = docs["Ingress/homes-web"]
    assert ingress["spec"]["tls"][0]["hosts"] == ["portal.homes.example", "homes.example"]
    assert [r["host"] for r in ingress["spec"]["rules"]] == ["portal.homes.example",
                                                            "homes.example"]
    assert ingress["metadata"]["annotations"][
        "nginx.ingress.kubernetes.io/proxy-body-size"] == "76m"
    assert docs["HorizontalPodAutoscaler/homes-web"]["spec"]["minReplicas"] >= 2
    assert docs["PodDisruptionBudget/homes-web"]["spec"]["minAvailable"] == 1

    # the image: the release (without data), the lock file a read-only filesystem needs
    image = out / "image" / "homes"
    assert "FROM ${PORTAL_IMAGE}" in (image / "Dockerfile").read_text()
    assert (image / "instances" / "homes" / "release" / "config.json").is_file()
    assert (image / "instances" / "homes" / "release" / ".lock").is_file()
    assert not (image / "instances" / "homes" / "data").exists()
    script = (out / "deploy.sh").read_text()
    assert script.index(f"job/homes-migrate-{release}") < script.index("rollout status")
    assert (out / "deploy.sh").stat().st_mode & stat.S_IXUSR


def test_a_fleet_gets_workloads_per_instance(fleet, tmp_path):
    out = tmp_path / "k8s"
    assert _deploy(fleet, "--target", "kubernetes", "--out", out)[0] == 0
    assert sorted(p.name for p in out.glob("*.yaml")) == ["homes.yaml", "villa-sol.yaml"]
    assert sorted(p.name for p in (out / "image").iterdir()) == ["homes", "villa-sol"]
    assert not (out / "image" / "homes" / "instances" / "villa-sol").exists()
    villa = _documents(out / "villa-sol.yaml")["Ingress/villa-sol-web"]
    assert villa["spec"]["rules"][0]["host"] == "portal.villasol.example"
    assert "one set of workloads per instance" in (out / "README.md").read_text()


def test_compose_bundle(fleet, tmp_path):
    out = tmp_path / "compose"
    assert _deploy(fleet, "--target", "compose", "--out", out)[0] == 0
    project = yaml.safe_load((out / "compose.yaml").read_text())
    services = project["services"]
    assert set(services) == {"postgres", "redis", "nginx", "homes-migrate", "homes-web",
                             "homes-mail", "villa-sol-migrate", "villa-sol-web",
                             "villa-sol-mail"}
    for name in ("postgres", "redis", "nginx", "homes-web", "villa-sol-web"):
        assert services[name]["healthcheck"]["test"], name
    assert "/healthz/ready" in " ".join(services["homes-web"]["healthcheck"]["test"])
    assert services["homes-web"]["command"][:3] == ["gunicorn", "-c",
                                                    "python:runtime.gunicorn_conf"]
    web_env = services["homes-web"]["environment"]  # the shared settings, merged (<<)
    assert web_env["PROMETHEUS_MULTIPROC_DIR"] == "/tmp/prometheus"
    assert web_env["PORTAL_METRICS_TOKEN"] == "${HOMES_METRICS_TOKEN:-}"
    assert web_env["PORTAL_REDIS_URL"] == services["homes-mail"]["environment"][
        "PORTAL_REDIS_URL"] == "redis://redis:6379/0"
    assert "PROMETHEUS_MULTIPROC_DIR" not in services["homes-mail"]["environment"]
    assert services["homes-mail"]["command"] == ["portal", "outbox", "work",
                                                 "/srv/portals/homes"]
    assert services["homes-web"]["depends_on"]["homes-migrate"]["condition"] == \
        "service_completed_successfully"
    assert services["homes-web"]["read_only"] is True
    assert "homes-data:/srv/portals/homes/data" in services["homes-mail"]["volumes"]
    assert set(project["volumes"]) == {"postgres", "redis", "homes-data", "villa-sol-data"}
    assert services["nginx"]["build"]["target"] == "nginx"
    env = (out / ".env").read_text()
    assert "HOMES_SECRET_KEY=" in env and "VILLA_SOL_SECRET_KEY=" in env
    assert re.search(r"^VILLA_SOL_METRICS_TOKEN=\S{40,}$", env, re.M)
    assert stat.S_IMODE((out / ".env").stat().st_mode) == 0o600
    assert "CREATE DATABASE portal_villa_sol" in (out / "initdb" / "01-databases.sql").read_text()
    nginx = (out / "image" / "nginx.conf").read_text()
    assert "server homes-web:8000" in nginx
    assert "max-age=31536000, immutable" in nginx
    dockerfile = (out / "image" / "Dockerfile").read_text()
    assert "AS app" in dockerfile and "AS nginx" in dockerfile
    if shutil.which("nginx") or Path("/usr/sbin/nginx").exists():
        _nginx_accepts(nginx, tmp_path)
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0 \
            if shutil.which("docker") else True:
        pytest.skip("docker compose is not installed here: the file was checked as YAML")
    check = subprocess.run(["docker", "compose", "config", "--quiet"], cwd=out,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_systemd_bundle(fleet, tmp_path):
    out = tmp_path / "systemd"
    code, output = _deploy(fleet / "villa-sol", "--target", "systemd", "--out", out,
                           "--prefix", VENV, "--upload-max-mb", "10")
    assert code == 0, output
    unit = (out / "portal-villa-sol.service").read_text()
    assert (f"ExecStart={VENV}/bin/gunicorn -c python:runtime.gunicorn_conf "
            "--chdir /srv/portals/villa-sol") in unit
    assert "Environment=PROMETHEUS_MULTIPROC_DIR=/run/portal-villa-sol/prometheus" in unit
    assert "EnvironmentFile=/etc/portal/villa-sol.env" in unit
    assert f"ExecStart={VENV}/bin/portal outbox work /srv/portals/villa-sol" in \
        (out / "portal-villa-sol-outbox.service").read_text()
    env = (out / "portal-villa-sol.env").read_text()
    assert "PORTAL_PROXY_COUNT=1" in env and "PORTAL_UPLOAD_MAX_MB=10" in env
    assert re.search(r"^PORTAL_METRICS_TOKEN=\S{40,}$", env, re.M)
    assert stat.S_IMODE((out / "portal-villa-sol.env").stat().st_mode) == 0o600
    assert "d /srv/portals/villa-sol/data 0750 portal portal -" in \
        (out / "tmpfiles-portal-villa-sol.conf").read_text()
    site = (out / "nginx-portal-villa-sol.conf").read_text()
    assert "server_name portal.villasol.example villa-sol.localhost;" in site
    assert "client_max_body_size 64m;" in site  # the portal's own whole-request limit
    assert "ssl_certificate /etc/letsencrypt/live/portal.villasol.example/" in site
    assert "root /srv/portals/villa-sol/release;" in site
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    assert "server unix:/run/portal-villa-sol/gunicorn.sock" in site

    analyze = shutil.which("systemd-analyze")
    if analyze:
        check = subprocess.run([analyze, "verify", "--man=no", "portal-villa-sol.service",
                                "portal-villa-sol-outbox.service"], cwd=out,
                               capture_output=True, text=True)
        assert check.returncode == 0 and not check.stderr.strip(), check.stderr
    _nginx_accepts(site, tmp_path)


def _nginx_accepts(site: str, tmp_path: Path) -> None:
    """`nginx -t` on a site, with a throw-away certificate and resolvable upstreams."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if nginx is None or shutil.which("openssl") is None:
        pytest.skip("nginx (or openssl) is not installed here: the site was checked as text")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=portal.test", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    site = re.sub(r"ssl_certificate (\S+);", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key (\S+);", f"ssl_certificate_key {key};", site)
    site = re.sub(r"server [a-z0-9-]+-web:8000", "server 127.0.0.1:8000", site)
    (tmp_path / "site.conf").write_text(site)
    wrapper = tmp_path / "nginx.conf"
    wrapper.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
                       f"http {{ include {tmp_path / 'site.conf'}; }}\n")
    check = subprocess.run([nginx, "-t", "-q", "-c", str(wrapper)], capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stderr


def test_deploy_refuses_what_it_cannot_use(fleet, tmp_path):
    code, output = _deploy(tmp_path / "tenants", "--target", "compose", "--out", tmp_path / "x")
    assert code == 1 and "neither a built instance nor a folder of built instances" in output
    used = tmp_path / "used"
    used.mkdir()
    (used / "file").write_text("keep")
    code, output = _deploy(fleet, "--target", "systemd", "--out", used)
    assert code == 1 and "not empty" in output
    assert [p.name for p in used.iterdir()] == ["file"]


def test_a_tenant_without_domains_is_warned_about(built_instance, tmp_path):
    result = CliRunner().invoke(main, ["deploy", str(built_instance), "--target", "kubernetes",
                                       "--out", str(tmp_path / "k8s")])
    assert result.exit_code == 0
    assert "warning: minimal: tenant.domains is empty" in result.output
    ingress = _documents(tmp_path / "k8s" / "minimal.yaml")["Ingress/minimal-web"]
    assert ingress["spec"]["rules"][0]["host"] == "minimal.localhost"
    assert "SMTP" not in (tmp_path / "k8s" / "minimal.yaml").read_text()
    assert "smtp-password" not in (tmp_path / "k8s" / "minimal.yaml").read_text()


def test_the_repository_dockerfile_is_multi_stage_and_non_root():
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2
    assert "USER 10001:10001" in text
    assert "pip install /src" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored


# -- fleet bundles (--fleet): one set of workloads for every instance --------------------


def _fleet_env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container["env"]}


def test_a_fleet_bundle_runs_every_tenant_in_one_deployment(fleet, tmp_path):
    import kubernetes_validate

    out = tmp_path / "k8s"
    code, output = _deploy(fleet, "--fleet", "--target", "kubernetes", "--out", out,
                           "--registry", "registry.example.com/p")
    assert code == 0, output
    assert sorted(p.name for p in out.glob("*.yaml")) == ["fleet.yaml"]
    docs = _documents(out / "fleet.yaml")
    for doc in docs.values():
        kubernetes_validate.validate(doc, "1.37.0", strict=True)
    (job,) = [name for name in docs if name.startswith("Job/fleet-migrate-")]
    tag = job.removeprefix("Job/fleet-migrate-")
    assert set(docs) == {"PersistentVolumeClaim/fleet-data", job, "Deployment/fleet-web",
                         "Deployment/fleet-mail", "Service/fleet-web", "Ingress/fleet-web",
                         "PodDisruptionBudget/fleet-web", "HorizontalPodAutoscaler/fleet-web"}
    assert [n for n in docs if n.startswith("Deployment/")] == ["Deployment/fleet-web",
                                                                "Deployment/fleet-mail"]

    web = docs["Deployment/fleet-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["image"] == f"registry.example.com/p/fleet:{tag}"
    assert web["command"][:3] == ["gunicorn", "-c", "python:runtime.gunicorn_conf"]
    assert web["command"][-1] == 'runtime.fleet:Fleet("/srv/portals")'
    assert docs[job]["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "portal", "db", "upgrade", "--all", "/srv/portals"]
    assert docs["Deployment/fleet-mail"]["spec"]["template"]["spec"]["containers"][0][
        "command"] == ["portal", "outbox", "work", "--all", "/srv/portals"]
    assert docs["PersistentVolumeClaim/fleet-data"]["spec"]["accessModes"] == ["ReadWriteMany"]
    (folders,) = docs[job]["spec"]["template"]["spec"]["initContainers"]  # before any mount
    assert folders["command"] == ["mkdir", "-p", "/volume/homes", "/volume/villa-sol"]
    for name in ("Deployment/fleet-web", "Deployment/fleet-mail", job):
        spec = docs[name]["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        (box,) = spec["containers"]
        assert box["securityContext"]["readOnlyRootFilesystem"] is True
        # each tenant's data folder, a sub-folder of the one shared volume
        mounts = {m["mountPath"]: (m["name"], m.get("subPath")) for m in box["volumeMounts"]}
        assert mounts == {"/srv/portals/homes/data": ("data", "homes"),
                          "/srv/portals/villa-sol/data": ("data", "villa-sol"),
                          "/tmp": ("tmp", None)}
        assert spec["volumes"][0]["persistentVolumeClaim"]["claimName"] == "fleet-data"
        env = _fleet_env(box)
        # no shared secret key (the fleet refuses one): each tenant generates its own
        assert "PORTAL_SECRET_KEY" not in env
        assert env["PORTAL_DATABASE_SCHEMA"]["value"] == "t_{tenant}"
        for variable, key in (("PORTAL_DATABASE_URL", "database-url"),
                              ("PORTAL_REDIS_URL", "redis-url"),
                              ("HOMES_SMTP_PASSWORD", "HOMES_SMTP_PASSWORD")):
            assert env[variable]["valueFrom"]["secretKeyRef"] == {"name": "fleet-portal",
                                                                 "key": key}
    assert [e["name"] for e in web["env"]].count("HOMES_SMTP_PASSWORD") == 1
    # probes by the pod's address, answered by the fleet itself: no tenant's Host header
    for probe in ("readinessProbe", "livenessProbe"):
        assert "httpHeaders" not in web[probe]["httpGet"], probe

    ingress = docs["Ingress/fleet-web"]["spec"]
    hosts = ["portal.homes.example", "homes.example", "portal.villasol.example"]
    assert [r["host"] for r in ingress["rules"]] == hosts
    assert {r["http"]["paths"][0]["backend"]["service"]["name"] for r in ingress["rules"]} == {
        "fleet-web"}
    assert ingress["tls"] == [
        {"hosts": ["portal.homes.example", "homes.example"], "secretName": "homes-tls"},
        {"hosts": ["portal.villasol.example"], "secretName": "villa-sol-tls"}]

    dockerfile = (out / "image" / "Dockerfile").read_text()
    assert "FROM ${PORTAL_IMAGE}" in dockerfile and "AS nginx" not in dockerfile
    for tenant in ("homes", "villa-sol"):
        assert (out / "image" / "instances" / tenant / "release" / "config.json").is_file()
    script = (out / "deploy.sh").read_text()
    assert "secret fleet-portal" in script and "-f fleet.yaml" in script
    assert script.index(f"job/fleet-migrate-{tag}") < script.index("rollout status")
    readme = (out / "README.md").read_text()
    assert "fleet bundle" in readme and "data/secret_key" in readme
    assert "secret-key" not in readme


def test_a_fleet_bundle_changes_its_tag_with_any_tenant_release(fleet):
    from generator.deploy import find_instances, fleet_unit

    instances = find_instances(fleet)
    before = fleet_unit(instances, fleet).release
    changed = [instances[0], replace(instances[1], release="0" * 12)]
    assert fleet_unit(changed, fleet).release != before


def test_fleet_compose_bundle(fleet, tmp_path):
    out = tmp_path / "compose"
    code, output = _deploy(fleet, "--fleet", "--target", "compose", "--out", out)
    assert code == 0, output
    project = yaml.safe_load((out / "compose.yaml").read_text())
    services = project["services"]
    assert set(services) == {"postgres", "redis", "nginx", "migrate", "web", "worker"}
    assert services["web"]["command"][-1] == 'runtime.fleet:Fleet("/srv/portals")'
    assert services["migrate"]["command"] == ["portal", "db", "upgrade", "--all",
                                              "/srv/portals"]
    assert services["worker"]["command"] == ["portal", "outbox", "work", "--all",
                                             "/srv/portals"]
    env = services["web"]["environment"]
    assert env["PORTAL_DATABASE_SCHEMA"] == "t_{tenant}"
    assert env["PORTAL_DATABASE_URL"].endswith("@postgres/portal")
    assert "PORTAL_SECRET_KEY" not in env and "PORTAL_SECRET_KEY" not in \
        services["worker"]["environment"]
    probe = services["web"]["healthcheck"]["test"][-1]  # by address: the fleet's own probe
    assert "/healthz/ready" in probe and "Host" not in probe
    for name in ("web", "worker", "migrate"):
        assert services[name]["volumes"] == ["homes-data:/srv/portals/homes/data",
                                             "villa-sol-data:/srv/portals/villa-sol/data"]
    assert services["nginx"]["depends_on"] == {"web": {"condition": "service_healthy"}}
    assert not (out / "initdb").exists()
    secrets_file = (out / ".env").read_text()
    assert not re.search(r"^\w*SECRET_KEY=", secrets_file, re.M)
    assert re.search(r"^METRICS_TOKEN=\S{40,}$", secrets_file, re.M)
    nginx = (out / "image" / "nginx.conf").read_text()
    assert nginx.count("upstream ") == 1 and "server web:8000" in nginx
    assert "server_name portal.villasol.example villa-sol.localhost;" in nginx
    assert "root /srv/portals/villa-sol/release;" in nginx
    if shutil.which("nginx") or Path("/usr/sbin/nginx").exists():
        _nginx_accepts(re.sub(r"server web:8000", "server 127.0.0.1:8000", nginx), tmp_path)


def test_fleet_systemd_bundle(fleet, tmp_path):
    out = tmp_path / "systemd"
    code, output = _deploy(fleet, "--fleet", "--target", "systemd", "--out", out,
                           "--prefix", VENV)
    assert code == 0, output
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md", "nginx-portal-fleet.conf", "portal-fleet-outbox.service",
        "portal-fleet.env", "portal-fleet.service", "tmpfiles-portal-fleet.conf"]
    unit = (out / "portal-fleet.service").read_text()
    assert f"ExecStartPre={VENV}/bin/portal db upgrade --all /srv/portals\n" in unit
    assert "'runtime.fleet:Fleet(\"/srv/portals\")'" in unit
    assert "--bind unix:/run/portal-fleet/gunicorn.sock" in unit
    assert f"ExecStart={VENV}/bin/portal outbox work --all /srv/portals\n" in \
        (out / "portal-fleet-outbox.service").read_text()
    env = (out / "portal-fleet.env").read_text()
    assert not re.search(r"^PORTAL_SECRET_KEY=", env, re.M)
    assert "PORTAL_DATABASE_SCHEMA=t_{tenant}" in env
    assert env.count("HOMES_SMTP_PASSWORD=") == 1
    tmpfiles = (out / "tmpfiles-portal-fleet.conf").read_text()
    assert "d /srv/portals/homes/data " in tmpfiles and "d /srv/portals/villa-sol/data " in tmpfiles
    site = (out / "nginx-portal-fleet.conf").read_text()
    assert site.count("upstream ") == 1
    assert "server unix:/run/portal-fleet/gunicorn.sock" in site
    assert "server_name portal.homes.example homes.example homes.localhost;" in site
    assert "ssl_certificate /etc/letsencrypt/live/portal.villasol.example/" in site

    analyze = shutil.which("systemd-analyze")
    if analyze:
        check = subprocess.run([analyze, "verify", "--man=no", "portal-fleet.service",
                                "portal-fleet-outbox.service"], cwd=out,
                               capture_output=True, text=True)
        assert check.returncode == 0 and not check.stderr.strip(), check.stderr
    _nginx_accepts(site, tmp_path)
