"""deploy/'s files are tested, not just written: HAProxy checks its configuration, systemd
verifies the units (or, without systemd, the commands and paths they name must exist),
and every setting, route and metric they name is one the code has."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess

import pytest
import yaml

from search.base.metrics import REINDEX_METRICS, SERVED
from search.base.settings import Settings, declared, variable
from tests.helpers import REPO

DEPLOY = REPO / "deploy"
UNITS = (
    "papersearch.service",
    "papersearch-reindex.service",
    "papersearch-reindex.timer",
    "papersearch-shard-host.service",
)
INSTALLED = "/opt/papersearch"  # where the units expect the checkout
ENV_FILE = "/etc/papersearch/papersearch.env"
# Read by web/gunicorn_conf.py, not by Settings; PAPERSEARCH_SNAPSHOT by the re-index unit.
OTHER_VARIABLES = {"PAPERSEARCH_BIND", "PAPERSEARCH_WORKERS", "PAPERSEARCH_THREADS",
                   "PAPERSEARCH_WORKER_TIMEOUT", "PAPERSEARCH_SNAPSHOT", "PAPERSEARCH_LB_BIND",
                   "PAPERSEARCH_REPLICA_1", "PAPERSEARCH_REPLICA_2"}  # fmt: skip


def units_here(tmp_path):
    """The units as they would be installed from this checkout: its paths for /opt's."""
    for name in UNITS:
        text = (DEPLOY / name).read_text()
        text = text.replace(ENV_FILE, str(DEPLOY / "papersearch.env")).replace(INSTALLED, str(REPO))
        (tmp_path / name).write_text(text)
    return [tmp_path / name for name in UNITS]


def test_haproxy_accepts_the_configuration():
    if shutil.which("haproxy") is None:
        pytest.skip("HAProxy is not installed (bash .ci/run installs it)")
    checked = subprocess.run(["haproxy", "-c", "-f", str(DEPLOY / "haproxy.cfg")],
                             capture_output=True, text=True, timeout=30)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_systemd_verifies_the_units(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("no systemd-analyze here: test_the_units_name_what_exists checks them")
    units = units_here(tmp_path)
    verified = subprocess.run(["systemd-analyze", "verify", "--man=no", *map(str, units)],
                              capture_output=True, text=True, cwd=tmp_path, timeout=60)  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_units_name_what_exists(tmp_path):
    """Without systemd too: each Exec command's program, the working directory and the
    environment file exist, and the gunicorn modules they name import."""
    for unit in units_here(tmp_path):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read(unit)
        if unit.suffix == ".timer":
            assert parser["Timer"]["Unit"] in UNITS and parser["Timer"]["OnCalendar"]
            continue
        service = parser["Service"]
        for key in ("ExecStart", "ExecReload"):
            if key in service:
                program = shlex.split(service[key])[0]
                assert shutil.which(program) or (REPO / program).exists(), (unit.name, program)
        assert (REPO / service["WorkingDirectory"]).is_dir()
        assert (DEPLOY / "papersearch.env").samefile(service["EnvironmentFile"])
    server = (DEPLOY / "papersearch.service").read_text()
    assert "-c python:web.gunicorn_conf web.wsgi:app" in server
    assert (REPO / "web" / "gunicorn_conf.py").is_file() and (REPO / "web" / "wsgi.py").is_file()


def test_every_variable_the_deploy_files_set_is_a_setting():
    known = {variable(f.name) for f, _ in declared()} | OTHER_VARIABLES
    named = set()
    for path in DEPLOY.iterdir():
        named |= set(re.findall(r"\bPAPERSEARCH_[A-Z0-9_]+", path.read_text()))
    assert named and named <= known, named - known
    env = dict(line.split("=", 1) for line in (DEPLOY / "papersearch.env").read_text().splitlines()
               if line and not line.startswith("#"))  # fmt: skip
    settings = Settings.from_env(env)  # the example parses
    assert settings.trusted_proxies == ("10.0.0.10/32",) and settings.rate_limit == 120


def test_haproxy_checks_health_and_prometheus_scrapes_what_the_servers_serve():
    from flask import Flask

    from web import api

    routes = Flask(__name__)
    routes.register_blueprint(api.bp, url_prefix="/api/v1")
    checked = re.search(r"option httpchk GET (\S+)", (DEPLOY / "haproxy.cfg").read_text())
    assert checked and checked.group(1) in {rule.rule for rule in routes.url_map.iter_rules()}
    config = (DEPLOY / "haproxy.cfg").read_text()
    assert "option forwardfor" in config
    scrape = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    job = next(j for j in scrape["scrape_configs"] if j["job_name"] == "papersearch")
    assert job["metrics_path"] == Settings().metrics_path
    assert f"^[/.]*{Settings().metrics_path.lstrip('/')}(/|$)" in config
    alerts = yaml.safe_load((DEPLOY / "papersearch-alerts.yml").read_text())
    names = {m._name for m in SERVED} | set(REINDEX_METRICS)
    names |= {m._name + "_total" for m in SERVED}
    for rule in alerts["groups"][0]["rules"]:
        used = set(re.findall(r"papersearch_[a-z_]+", rule["expr"]))
        assert used and used <= names, (rule["alert"], used - names)


def test_haproxys_own_503_is_the_apis_error_shape_with_a_registered_code():
    from search.base.errors import ERROR_CODES

    config = (DEPLOY / "haproxy.cfg").read_text()
    line = next(line for line in config.splitlines() if "http-error status 503" in line)
    body = json.loads(re.search(r'string "(.*)" hdr', line).group(1).replace('\\"', '"'))
    code = body["error"]["code"]
    assert code in ERROR_CODES and ERROR_CODES[code].status == 503 and body["error"]["message"]
    assert "hdr Retry-After" in line
