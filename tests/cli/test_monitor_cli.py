"""``keel monitor run|report`` and ``keel incidents list|show|ack|resolve`` as a user meets them
before anything is served: the exit codes, the messages and the JSON of each face.

The monitor's checks on served predictions are in ``tests/contract/test_monitoring.py``.
"""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Keel


def test_nothing_to_monitor_before_a_release(keel: Keel, project: Path) -> None:
    done = keel("monitor", "run", cwd=project)
    assert done.code == 4
    assert "no champion is released: there is nothing to monitor" in done.err
    assert "keel release promote VERSION" in done.err


def test_an_empty_report_and_an_empty_list(keel: Keel, project: Path) -> None:
    done = keel("monitor", "report", "--out", "r.html", "--json", cwd=project)
    assert done.code == 0, done.err
    assert done.json() == {"out": "r.html", "chunks": 0, "incidents": 0}
    assert "Monitoring report: loan-default" in (project / "r.html").read_text(encoding="utf-8")
    text = keel("monitor", "report", "--out", "r.html", cwd=project)
    assert "report of 0 chunks and 0 incidents → r.html" in text.out
    listed = keel("incidents", "list", "--status", "open", "--json", cwd=project)
    assert listed.code == 0, listed.err
    assert listed.json() == []


def test_an_unknown_incident_is_not_found(keel: Keel, project: Path) -> None:
    for args in (["show", "7"], ["ack", "7"], ["resolve", "7", "--note", "done"]):
        done = keel("incidents", *args, cwd=project)
        assert done.code == 3, (args, done.err)


def test_a_viewer_reads_but_may_not_act(keel: Keel, project: Path) -> None:
    added = keel("users", "add", "vera", "--role", "viewer", "--json", cwd=project)
    as_vera = {"KEEL_API_KEY": added.json()["api_key"]}
    assert keel("incidents", "list", cwd=project, env=as_vera).code == 0
    refused = {
        "running the monitor": ["monitor", "run"],
        "acknowledging an incident": ["incidents", "ack", "7"],
        "resolving an incident": ["incidents", "resolve", "7", "--note", "done"],
    }
    for action, args in refused.items():
        done = keel(*args, cwd=project, env=as_vera)
        assert done.code == 5, (args, done.err)
        assert f"{action} needs the operator role; vera is viewer" in done.err


def test_an_unknown_incident_status_is_a_usage_error_naming_the_choices(
    keel: Keel, project: Path
) -> None:
    result = keel("incidents", "list", "--status", "bogus", cwd=project)
    assert result.code == 2
    assert "open" in result.err and "resolved" in result.err
    assert "Traceback" not in result.err
