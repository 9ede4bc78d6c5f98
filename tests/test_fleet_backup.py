"""Backups of a fleet's tenants on one PostgreSQL database: each its own schema, alone."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.test_fleet import _pg, _upgrade_all, build_fleet


@pytest.fixture
def fleet_dir(tmp_path, runner):
    return build_fleet(tmp_path, runner)


def test_a_backup_holds_its_own_schema_only_and_restores_it_alone(
        fleet_dir, runner, postgres_url, monkeypatch, tmp_path):
    import tarfile

    from cli import main

    monkeypatch.setenv("PORTAL_DATABASE_URL", postgres_url)
    monkeypatch.setenv("PORTAL_DATABASE_SCHEMA", "t_{tenant}")
    alpha, beta = fleet_dir / "alpha", fleet_dir / "beta"
    try:
        assert _upgrade_all(runner, fleet_dir).exit_code == 0
        for instance in (alpha, beta):
            assert runner.invoke(main, ["users", "add", str(instance), "--email",
                                        "ana@example.com", "--name", "Ana",
                                        "--password", "correct-horse-battery"]).exit_code == 0
        archive = tmp_path / "alpha.tar.gz"
        result = runner.invoke(main, ["backup", str(alpha), "--out", str(archive)])
        assert result.exit_code == 0, result.output
        with tarfile.open(archive) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
            tar.extract("database/portal.dump", tmp_path, filter="data")
        assert manifest["schema"] == "t_alpha"
        listing = subprocess.run(["pg_restore", "--list", str(tmp_path / "database/portal.dump")],
                                 capture_output=True, text=True, check=True).stdout
        assert "t_alpha" in listing and "t_beta" not in listing
        for instance in (alpha, beta):  # written after the backup
            assert runner.invoke(main, ["users", "add", str(instance), "--email",
                                        "bo@example.com", "--name", "Bo",
                                        "--password", "correct-horse-battery"]).exit_code == 0
        result = runner.invoke(main, ["restore", str(alpha), str(archive), "--force"])
        assert result.exit_code == 0, result.output
        users = _pg(postgres_url, "SELECT (SELECT count(*) FROM t_alpha.users), "
                                  "(SELECT count(*) FROM t_beta.users)")
        assert users == [(1, 2)]  # alpha as it was backed up; beta untouched
        result = runner.invoke(main, ["restore", str(beta), str(archive), "--force"])
        assert result.exit_code == 1 and "holds the schema t_alpha" in result.output
    finally:
        _pg(postgres_url, "DROP SCHEMA IF EXISTS t_alpha CASCADE; "
                          "DROP SCHEMA IF EXISTS t_beta CASCADE")
