"""The audit log port on SQLite and PostgreSQL: linking, reading, concurrency, tamper evidence."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor

import pytest

from keel.audit.chain import ChainReport, verify_chain
from keel.audit.events import GENESIS_HASH
from keel.store.sql import Database, SqlUnit


def append(db: Database, n: int, actor: str = "ana") -> None:
    for i in range(n):
        with db.write() as conn:
            SqlUnit(conn).audit.append(
                actor=actor, action="test.event", subject=f"thing:{i}", details={"i": i}
            )


def verify(db: Database) -> ChainReport:
    with db.read() as conn:
        audit = SqlUnit(conn).audit
        return verify_chain(audit.scan(), audit.head())


def test_events_link_to_their_predecessor(db: Database) -> None:
    append(db, 3)
    with db.read() as conn:
        events = list(SqlUnit(conn).audit.scan())
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash


def test_recent_is_newest_first_and_filters(db: Database) -> None:
    append(db, 4)
    with db.write() as conn:
        SqlUnit(conn).audit.append(actor="omar", action="user.add", subject="user:ana")
    with db.read() as conn:
        audit = SqlUnit(conn).audit
        assert [e.seq for e in audit.recent(limit=2)] == [5, 4]
        assert [e.seq for e in audit.recent(action="user.add")] == [5]
        assert [e.seq for e in audit.recent(subject="thing:1")] == [2]


def test_details_round_trip(db: Database) -> None:
    details = {"role": "approver", "nested": {"b": [1, 2], "a": None}, "text": "ünïcode"}
    with db.write() as conn:
        SqlUnit(conn).audit.append(actor="ana", action="x", subject="y", details=details)
    with db.read() as conn:
        (event,) = SqlUnit(conn).audit.recent()
    assert event.details == details
    assert event.to_dict()["details"] == details


def test_a_rolled_back_transaction_leaves_no_event(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as conn:
        SqlUnit(conn).audit.append(actor="ana", action="x", subject="y")
        raise RuntimeError("the action failed after auditing")
    report = verify(db)
    assert report.ok
    assert report.events == 0


def test_concurrent_threads_never_fork_the_chain(db: Database) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda worker: append(db, 10, f"w{worker}"), range(8)))
    report = verify(db)
    assert report.ok, report.reason
    assert report.events == 80


def _append_in_process(url: str, worker: int) -> None:
    database = Database(url)
    append(database, 10, f"p{worker}")
    database.dispose()


def test_concurrent_processes_never_fork_the_chain(db: Database, database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_append_in_process, args=(database_url, w)) for w in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    report = verify(db)
    assert report.ok, report.reason
    assert report.events == 40


@pytest.mark.parametrize(
    ("statement", "first_bad"),
    [
        ("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2", 2),
        ("UPDATE audit_events SET details = '{\"i\":99}' WHERE seq = 3", 3),
        ("UPDATE audit_events SET hash = repeat('0', 63) || '1' WHERE seq = 4", 4),
        ("DELETE FROM audit_events WHERE seq = 2", 2),
        ("DELETE FROM audit_events WHERE seq = 5", 5),
    ],
    ids=["edited-actor", "edited-details", "edited-hash", "deleted-middle", "deleted-last"],
)
def test_tampering_is_detected_and_named(db: Database, statement: str, first_bad: int) -> None:
    append(db, 5)
    if db.dialect == "sqlite":
        statement = statement.replace("repeat('0', 63)", "'" + "0" * 63 + "'")
    with db.engine.begin() as conn:
        conn.exec_driver_sql(statement)
    report = verify(db)
    assert not report.ok
    assert report.first_bad_seq == first_bad


def test_the_chain_cannot_fork_even_bypassing_the_lock(db: Database) -> None:
    """The unique constraint on prev_hash is the backstop if a writer skipped serialization."""
    from keel.errors import Conflict
    from keel.store.sql.tables import audit_events

    append(db, 1)
    with db.read() as conn:
        (first,) = SqlUnit(conn).audit.recent()
    forged = {
        "seq": 2,
        "at": first.at,
        "actor": "x",
        "action": "x",
        "subject": "x",
        "details": "{}",
        "prev_hash": first.prev_hash,
        "hash": "f" * 64,
    }
    with pytest.raises(Conflict), db.write() as conn:
        conn.execute(audit_events.insert().values(forged))
