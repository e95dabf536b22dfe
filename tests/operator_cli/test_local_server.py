"""Local mode from a shell: `mlcp local up` keeps the emulated stack in a server process and
`--local` commands from other processes run there (ADR 21); the user's own AWS settings never leak
into local mode. Real processes, real sockets, the real stack; the clock moves only when told."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlcp_cli.main import main

from .conftest import ROOT

FIRST_DEPLOYMENT = """\
name: first-deployment
description: churn-model v1 goes live on churn-prod.
steps:
  - publish_policy: {file: scenarios/policy.yaml}
  - as: ml-engineer
    register_model_package: {group: churn-model}
  - as: reviewer
    approve_model_package: {group: churn-model, version: 1}
  - wait: {seconds: 600}
  - expect:
      endpoint: {name: churn-prod, status: InService, serves: {group: churn-model, version: 1}}
"""

#: What an SSO user or a LocalStack user has exported: none of it may reach local mode.
USER_AWS_ENVIRONMENT = {
    "AWS_PROFILE": "sso-admin",
    "AWS_DEFAULT_PROFILE": "sso-admin",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_ENDPOINT_URL_SAGEMAKER": "http://127.0.0.1:9",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_REGION": "eu-west-3",
}


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A short directory (a Unix socket path is at most 107 bytes) with the scenario and an AWS config."""
    with tempfile.TemporaryDirectory(prefix="mlcp-", dir="/tmp") as name:
        directory = Path(name)
        (directory / "first.yaml").write_text(FIRST_DEPLOYMENT, encoding="utf-8")
        (directory / "aws-config").write_text(
            "[profile sso-admin]\nsso_session = corp\nsso_account_id = 111122223333\n"
            "sso_role_name = Admin\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
            "sso_region = eu-west-3\n",
            encoding="utf-8",
        )
        yield directory


def test_local_run_ignores_the_users_aws_environment(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in {**USER_AWS_ENVIRONMENT, "AWS_CONFIG_FILE": str(workdir / "aws-config")}.items():
        monkeypatch.setenv(key, value)

    code = main(
        [
            "local",
            "run",
            str(workdir / "first.yaml"),
            "--root",
            str(ROOT),
            "--template",
            str(ROOT / "template.yaml"),
        ]
    )

    out, err = capsys.readouterr()
    assert code == 0, err
    assert "0 failed expectations" in out
    assert "Traceback" not in err
    assert os.environ["AWS_PROFILE"] == "sso-admin"  # the user's environment is theirs again
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"


def _mlcp(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``mlcp ARGS`` in another process, as from another shell, with the user's AWS settings exported."""
    env = {
        **os.environ,
        **USER_AWS_ENVIRONMENT,
        "AWS_CONFIG_FILE": str(workdir / "aws-config"),
        "MLCP_LOCAL_DIR": str(workdir / "state"),
    }
    return subprocess.run(
        [sys.executable, "-m", "mlcp_cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # bounds a hang only
        check=False,
    )


def test_local_run_keep_serves_local_commands_from_other_processes_until_down(workdir: Path) -> None:
    info = workdir / "state" / "server.json"
    try:
        up = _mlcp(workdir, "local", "run", str(workdir / "first.yaml"), "--keep", "--speed", "0")
        assert up.returncode == 0, up.stderr
        assert "0 failed expectations" in up.stdout
        assert "local control plane up" in up.stdout

        listed = _mlcp(workdir, "approvals", "list", "--local")
        assert (listed.returncode, listed.stdout, listed.stderr) == (0, "no approvals\n", "")
        status = _mlcp(workdir, "status", "churn-prod", "--local", "--json")
        assert status.returncode == 0, status.stderr
        view: dict[str, Any] = json.loads(status.stdout)
        assert (view["champion"]["version"], view["candidate"], view["lease_holder"]) == (1, None, None)

        watched = _mlcp(workdir, "status", "--local", "--watch", "--redraws", "1")  # redrawn here, read there
        assert watched.returncode == 0, watched.stderr
        assert watched.stdout.startswith("churn-prod  InService")

        advanced = _mlcp(workdir, "local", "advance", "3600", "--json")
        assert advanced.returncode == 0, advanced.stderr
        moved = json.loads(advanced.stdout)
        assert moved["advanced_seconds"] == 3600
        later = json.loads(_mlcp(workdir, "status", "churn-prod", "--local", "--json").stdout)
        assert later["as_of"] == moved["now"][:19] + "+00:00"  # the server's clock moved, nobody else's
        assert (later["as_of"] > view["as_of"]) is True

        abort = _mlcp(workdir, "abort", "churn-prod", "--reason", "nothing to abort", "--local")
        assert abort.returncode == 1
        assert abort.stderr.startswith("refused: churn-prod: no deployment in flight to abort")

        again = _mlcp(workdir, "local", "up", "--speed", "0")
        assert again.returncode == 1
        assert "already up" in again.stderr

        down = _mlcp(workdir, "local", "down", "--json")
        assert down.returncode == 0, down.stderr
        assert json.loads(down.stdout)["down"] is True
        gone = _mlcp(workdir, "approvals", "list", "--local")
        assert gone.returncode == 2
        assert "no local control plane is running" in gone.stderr
        assert "Traceback" not in gone.stderr
    finally:
        if info.exists():  # a failed assertion must not leave the server running
            os.kill(int(json.loads(info.read_text())["pid"]), signal.SIGTERM)


def test_the_state_directory_is_found_from_a_subdirectory(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlcp_cli.local_server import state_dir

    monkeypatch.delenv("MLCP_LOCAL_DIR", raising=False)
    (workdir / ".mlcp-local").mkdir()
    (workdir / ".mlcp-local" / "mlcp.sock").touch()
    (workdir / "cli" / "src").mkdir(parents=True)
    monkeypatch.chdir(workdir / "cli" / "src")
    assert state_dir().resolve() == (workdir / ".mlcp-local").resolve()
    assert state_dir("elsewhere") == Path("elsewhere")
    monkeypatch.setenv("MLCP_LOCAL_DIR", str(workdir / "other"))
    assert state_dir() == workdir / "other"


def test_the_server_answers_pings_and_runs_local_commands_only(workdir: Path) -> None:
    import io
    import threading

    from mlcp_cli.local_server import LocalServer, is_up, request

    server = LocalServer(None, workdir, speed=0)  # no control plane needed for what is refused
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        assert is_up(workdir) is True
        out, err = io.StringIO(), io.StringIO()
        code = request(workdir, {"argv": ["audit", "verify", "--config-env", "prod"], "cwd": "/"}, out, err)
        assert (code, out.getvalue()) == (2, "")
        assert err.getvalue() == "mlcp: the local control plane runs --local commands only\n"
    finally:
        server.shutdown()
        server.server_close()
    assert is_up(workdir) is False
