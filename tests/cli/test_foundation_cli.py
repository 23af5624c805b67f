"""The foundation commands end to end: init, status, users, audit, db, errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from keel.store.sql.schema import head_revision
from tests.cli.conftest import Keel


def test_version(keel: Keel) -> None:
    result = keel("--version")
    assert result.code == 0
    assert result.out.startswith("keel ")


def test_init_then_status(keel: Keel, project: Path) -> None:
    status = keel("status", "--json", cwd=project).json()
    assert status["project"] == "loan-default"
    assert status["schema"]["ok"] is True
    assert status["audit"]["events"] == 1
    assert status["actor"] == {"name": "local-admin", "role": "admin", "via": "local"}
    text = keel("status", cwd=project)
    assert "loan-default" in text.out
    assert "audit" in text.out


def test_init_refuses_a_non_empty_folder(keel: Keel, project: Path) -> None:
    result = keel("init", str(project))
    assert result.code == 4
    assert "not empty" in result.err
    assert "Traceback" not in result.err


def test_init_refuses_an_unknown_example(keel: Keel) -> None:
    result = keel("init", "x", "--example", "nope")
    assert result.code == 2
    assert "loan, acs" in result.err


@pytest.mark.parametrize("example", ["loan", "acs"])
def test_each_example_scaffolds_a_working_project(keel: Keel, tmp_path: Path, example: str) -> None:
    assert keel("init", example, "--example", example).code == 0
    assert keel("status", "--json", cwd=tmp_path / example).json()["schema"]["ok"]


def test_users_add_prints_the_key_once_and_list_never_does(keel: Keel, project: Path) -> None:
    added = keel("users", "add", "ana", "--role", "approver", "--json", cwd=project).json()
    assert set(added) >= {"name", "role", "api_key"}
    assert (added["name"], added["role"]) == ("ana", "approver")
    as_ana = {"KEEL_API_KEY": added["api_key"]}
    listed = keel("users", "list", "--json", cwd=project, env=as_ana)
    assert added["api_key"] not in listed.out
    assert listed.json()[0]["name"] == "ana"
    log = keel("audit", "log", "--json", cwd=project, env=as_ana)
    assert added["api_key"] not in log.out


def test_the_cli_acts_as_the_key_holder(keel: Keel, project: Path) -> None:
    key = keel("users", "add", "omar", "--role", "operator", "--json", cwd=project).json()[
        "api_key"
    ]
    as_omar = {"KEEL_API_KEY": key}
    assert keel("status", "--json", cwd=project, env=as_omar).json()["actor"]["name"] == "omar"
    denied = keel("users", "add", "eve", "--role", "admin", cwd=project, env=as_omar)
    assert denied.code == 5
    assert "needs the admin role" in denied.err
    assert key not in denied.err


def test_a_revoked_key_stops_working(keel: Keel, project: Path) -> None:
    key = keel("users", "add", "omar", "--role", "operator", "--json", cwd=project).json()[
        "api_key"
    ]
    glass = {"KEEL_BREAK_GLASS": "omar left"}  # no admin holds a key here: the audited way in
    assert keel("users", "revoke", "omar", cwd=project, env=glass).code == 0
    result = keel("users", "list", cwd=project, env={"KEEL_API_KEY": key})
    assert result.code == 8  # unauthenticated, as the control plane's 401
    assert "unknown or revoked" in result.err


def test_bad_role_is_a_clear_error(keel: Keel, project: Path) -> None:
    result = keel("users", "add", "ana", "--role", "boss", cwd=project)
    assert result.code == 2
    assert "expected one of" in result.err


def test_audit_log_is_newest_first(keel: Keel, project: Path) -> None:
    added = keel("users", "add", "ana", "--role", "viewer", "--json", cwd=project).json()
    as_ana = {"KEEL_API_KEY": added["api_key"]}
    events = keel("audit", "log", "--json", cwd=project, env=as_ana).json()
    assert [e["action"] for e in events] == ["user.add", "project.init"]
    assert "user.add" in keel("audit", "log", cwd=project, env=as_ana).out


@pytest.mark.parametrize(
    ("statement", "bad"),
    [
        ("UPDATE audit_events SET subject = 'user:eve' WHERE seq = 2", 2),
        ("DELETE FROM audit_events WHERE seq = 2", 2),
        ("DELETE FROM audit_events WHERE seq = 3", 3),
    ],
    ids=["edited", "deleted-middle", "deleted-last"],
)
def test_audit_verify_catches_direct_database_edits(
    keel: Keel, project: Path, statement: str, bad: int
) -> None:
    added = keel("users", "add", "ana", "--role", "admin", "--json", cwd=project).json()
    as_ana = {"KEEL_API_KEY": added["api_key"]}
    keel("users", "add", "bo", "--role", "viewer", cwd=project, env=as_ana)
    good = keel("audit", "verify", "--json", cwd=project, env=as_ana)
    assert good.code == 0
    assert good.json()["ok"] is True
    assert good.json()["events"] == 3
    with sqlite3.connect(project / ".keel" / "keel.db") as conn:
        conn.execute(statement)
    broken = keel("audit", "verify", "--json", cwd=project, env=as_ana)
    assert broken.code == 1
    assert broken.json()["ok"] is False
    assert broken.json()["first_bad_event"] == bad
    assert f"event {bad}" in keel("audit", "verify", cwd=project, env=as_ana).out


def test_a_wrong_type_in_keel_yaml_is_one_line_without_traceback(keel: Keel, project: Path) -> None:
    path = project / "keel.yaml"
    path.write_text(path.read_text().replace("kind: binary", "kind: [binary]"))
    result = keel("status", cwd=project)
    assert result.code == 2
    assert "Traceback" not in result.err
    first = result.err.splitlines()[0]
    assert str(path) in first
    assert "target.kind" in first


def test_debug_shows_the_traceback(keel: Keel, project: Path) -> None:
    (project / "keel.yaml").write_text("name: [\n")
    assert "Traceback" in keel("--debug", "status", cwd=project).err


def test_outside_a_project_the_error_says_what_to_do(keel: Keel, tmp_path: Path) -> None:
    result = keel("status", cwd=tmp_path)
    assert result.code == 2
    assert "keel init" in result.err


def test_an_unmigrated_database_is_refused_until_upgrade(
    keel: Keel, project: Path, tmp_path: Path
) -> None:
    env = {"KEEL_DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"}
    refused = keel("users", "list", cwd=project, env=env)
    assert refused.code == 7
    assert "keel db upgrade" in refused.err
    assert keel("db", "upgrade", cwd=project, env=env).code == 0
    assert keel("users", "list", "--json", cwd=project, env=env).json() == []


@pytest.mark.postgres
def test_postgres_via_environment(keel: Keel, project: Path, postgres_url: str) -> None:
    env = {"KEEL_DATABASE_URL": postgres_url}
    upgraded = keel("db", "upgrade", "--json", cwd=project, env=env)
    assert upgraded.code == 0, upgraded.err
    assert upgraded.json()["to"] == head_revision()
    status = keel("status", "--json", cwd=project, env=env).json()
    assert status["database"].startswith("postgresql+psycopg://")
    assert status["schema"]["ok"] is True
    assert keel("users", "add", "ana", "--role", "admin", cwd=project, env=env).code == 0
    without_key = keel("users", "list", cwd=project, env=env)
    assert without_key.code == 8
    assert "KEEL_API_KEY" in without_key.err


@pytest.mark.slow
def test_demo_runs_and_summarises(keel: Keel, tmp_path: Path) -> None:
    result = keel("demo", "--dir", str(tmp_path / "demo"), "--json", timeout=900)
    assert result.code == 0, result.err
    summary = result.json()
    assert int(summary["summary"]["audit events"]) >= 3
    assert summary["summary"]["dashboard"].endswith("&& keel server")
    assert "resolved" in summary["summary"]["review queue"]  # the scripted reviewers' work
    # the agent's loop: every canary step passed, a second person promoted, the worse
    # candidate rolled back on its own with an incident
    assert "50 % passed" in summary["summary"]["canary"]
    assert "approved by omar" in summary["summary"]["champion now"]
    assert "incident #" in summary["summary"]["rolled back"]
    # the tuned decision policy: gated, asked for by ana, approved by omar, then in force
    assert "in force (ana asked, omar approved)" in summary["summary"]["decision policy"]
    assert "review" in summary["summary"]["served under keel.yaml"]
    assert "review" in summary["summary"]["served under p1"]
    project = tmp_path / "demo"
    ada = {"KEEL_API_KEY": (project / ".keel" / "demo-keys" / "ada").read_text().strip()}
    history = keel("agent", "history", "--json", cwd=project, env=ada).json()
    assert [(a["kind"], a["status"]) for a in history] == [
        ("retrain", "failed"),
        ("retrain", "done"),
    ]
    releases = keel("release", "history", "--json", cwd=project, env=ada).json()
    assert {r["policy"] for r in releases} == {None, 1}  # the policy stays through the agent's
    assert releases[0]["actor"] == "keel-agent" and releases[0]["canary"] is None
    assert releases[0]["champion"] == int(summary["summary"]["champion now"].split()[0][1:])
    assert all(step["result"] for step in summary["steps"])
    kept = sorted((tmp_path / "demo" / ".keel" / "demo-keys").iterdir())
    assert [k.name for k in kept] == ["ada", "ana", "omar"]
    for key in kept:  # the users' keys are left for the person, never printed
        assert key.stat().st_mode & 0o077 == 0
        assert key.read_text().strip() not in result.out + result.err
