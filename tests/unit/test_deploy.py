"""The deployment files are kept true: the Dockerfile passes hadolint, compose.yaml runs ztc
beside a healthy PostgreSQL with its ops port, and the systemd unit runs `ztc run` as its own
user in its own folder with the settings file (README: "Deploying")."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.paths import ROOT


def test_the_dockerfile_passes_hadolint_and_runs_ztc_unprivileged() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    done = subprocess.run(
        [hadolint, "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / "Dockerfile").read_text("utf-8")
    lines = [line.strip() for line in text.splitlines()]
    assert next(line for line in lines if line.startswith("FROM")).endswith("-slim")
    user = next(line for line in lines if line.startswith("USER"))
    assert user.split()[1].split(":")[0] not in ("0", "root")
    assert 'ENTRYPOINT ["ztc"]' in lines and 'CMD ["run"]' in lines
    healthcheck = text[text.index("HEALTHCHECK") :].split("\n\n", 1)[0]
    assert "/healthz" in healthcheck and "ZTC_OPS_PORT" in healthcheck
    ignored = (ROOT / ".dockerignore").read_text("utf-8").split()
    assert {".env", "ztc.env", "*.db", ".venv"} <= set(ignored)  # no secret, no data baked in


def test_compose_runs_ztc_beside_a_healthy_postgresql() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text("utf-8"))
    db, ztc = compose["services"]["db"], compose["services"]["ztc"]
    assert db["image"].startswith("postgres:") and "pg_isready" in " ".join(
        db["healthcheck"]["test"]
    )
    assert ztc["depends_on"]["db"]["condition"] == "service_healthy"
    env = ztc["environment"]
    assert (
        env["ZTC_DATABASE_URL"].startswith("postgresql://") and "@db/" in env["ZTC_DATABASE_URL"]
    )
    assert env["ZTC_OPS_PORT"] == "9108" and ztc["ports"] == ["127.0.0.1:9108:9108"]
    assert ztc["env_file"] == ["ztc.env"]  # the token and the robots' keys stay out of the file
    assert "pgdata" in compose["volumes"]


def test_the_systemd_unit_runs_ztc_as_its_own_user_with_its_settings() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys keep case
    unit.read(ROOT / "deploy" / "ztc.service", encoding="utf-8")
    service = unit["Service"]
    assert service["User"] == "ztc" and service["WorkingDirectory"] == "/var/lib/ztc"
    assert service["StateDirectory"] == "ztc"  # $STATE_DIRECTORY: ztc's data folder
    assert service["EnvironmentFile"] == "/etc/ztc/env"
    assert service["ExecStart"].endswith("/bin/ztc run")
    assert service["Restart"] == "on-failure" and service["KillSignal"] == "SIGTERM"
    assert service["ReadWritePaths"] == service["WorkingDirectory"]
    assert unit["Install"]["WantedBy"] == "multi-user.target"
