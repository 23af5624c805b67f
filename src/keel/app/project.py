"""The project plane: create a project, report its status, migrate its database, manage its
users, and read and verify its audit trail."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from keel import __version__
from keel.app.result import Result
from keel.app.scaffold import scaffold
from keel.app.session import open_project
from keel.app.use_case import offline, query, use_case
from keel.audit.chain import ChainReport, verify_chain
from keel.audit.events import AuditEvent
from keel.errors import PermissionDenied, StorageUnavailable, Unauthenticated
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.identity.service import add_user, revoke_user
from keel.identity.users import User
from keel.simulate import write_simulation
from keel.store.sql.schema import check_schema, current_revision, head_revision, upgrade
from keel.wiring import Keel


@dataclass(frozen=True)
class Created(Result):
    """A project made by ``init``."""

    project: str
    directory: str
    example: str


@offline(action="creating a project", writes=True)
def init(directory: Path, example: str = "loan") -> Created:
    """Create a project from an example, with its database migrated and ready.

    No one can be asked before the project exists: whoever may write to the folder creates it,
    and acts as its local admin (as ``git init`` does), which the audit trail records. A folder
    that cannot be written (permissions, a full disk) is ``StorageUnavailable``, and whatever
    was created before the failure is removed: no half-made project is left behind.
    """
    made = _missing_folders(directory)
    empty = directory.is_dir() and not any(directory.iterdir())
    try:
        return _init(directory, example)
    except BaseException as error:
        if made or empty:  # never touch a folder that held files before
            _remove_created(directory, made)
        if isinstance(error, OSError):
            raise StorageUnavailable(
                f"cannot create the project in {directory}: {error.strerror or error}",
                hint="pick a folder you can write to, with free space; nothing was left there",
            ) from error
        raise


def _missing_folders(directory: Path) -> list[Path]:
    """``directory`` and its ancestors that do not exist yet, outermost first."""
    missing = [p for p in (directory, *directory.parents) if not p.exists()]
    return missing[::-1]


def _remove_created(directory: Path, made: list[Path]) -> None:
    """Undo a failed init: remove the folders it made, or empty the (empty) one it was given."""
    if made:
        shutil.rmtree(made[0], ignore_errors=True)
    elif directory.is_dir():
        for child in directory.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)


def _init(directory: Path, example: str) -> Created:
    project_file = scaffold(directory, example)
    if example == "loan":
        write_simulation(
            directory / "data" / "sample.csv",
            rows=5_000,
            seed=1,
            start=datetime(2024, 1, 1),
            end=datetime(2024, 2, 1),
        )
    keel = open_project(project_file.parent.resolve(), check=False)
    try:
        upgrade(keel.db)
        actor = keel.actor()
        with keel.unit() as unit:
            unit.audit.append(
                actor=actor.name,
                action="project.init",
                subject=f"project:{keel.project.name}",
                details={"example": example, "keel_version": __version__},
            )
    finally:
        keel.close()
    return Created(project=keel.project.name, directory=str(directory), example=example)


@dataclass(frozen=True)
class SchemaState(Result):
    current: str | None
    expected: str
    ok: bool


@dataclass(frozen=True)
class AuditHead(Result):
    events: int
    head: str


@dataclass(frozen=True)
class Acting(Result):
    """Who commands act as, or why no one can (``name`` is None then)."""

    name: str | None
    role: str | None = None
    via: str | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.name is None:
            return {"name": None, "problem": self.problem}
        return {"name": self.name, "role": self.role, "via": self.via}


@dataclass(frozen=True)
class Status(Result):
    """What ``keel status`` shows; ``audit`` and ``actor`` only once the schema is current."""

    project: str
    directory: str
    keel_version: str
    database: str
    schema: SchemaState
    store: str
    audit: AuditHead | None = None
    actor: Acting | None = None

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        return {k: v for k, v in body.items() if v is not None or k not in ("audit", "actor")}


@query(action="reading the project status")
def status(keel: Keel) -> Status:
    """The project, its store, its database schema, the audit head and who is acting."""
    revision, expected = current_revision(keel.db), head_revision()
    found = Status(
        project=keel.project.name,
        directory=str(keel.settings.project_dir),
        keel_version=__version__,
        database=keel.db.display_url,
        schema=SchemaState(current=revision, expected=expected, ok=revision == expected),
        store=keel.blobs.url,
    )
    if revision != expected:
        return found
    check_schema(keel.db)
    with keel.reader() as unit:
        head = unit.audit.head()
    try:
        actor = keel.actor()
        acting = Acting(name=actor.name, role=actor.role.value, via=actor.via)
    except (PermissionDenied, Unauthenticated) as denied:
        acting = Acting(name=None, problem=denied.message)
    return replace(found, audit=AuditHead(events=head.seq, head=head.hash), actor=acting)


@dataclass(frozen=True)
class Migration(Result):
    database: str
    before: str | None
    after: str

    def to_dict(self) -> dict[str, Any]:
        return {"database": self.database, "from": self.before, "to": self.after}


@use_case(Role.ADMIN, action="migrating the database", writes=True, bootstrap=True)
def upgrade_database(keel: Keel, actor: Actor) -> Migration:
    """Migrate the database to this Keel's schema; safe to run again."""
    before, after = upgrade(keel.db)
    if before != after:
        with keel.unit() as unit:
            unit.audit.append(
                actor=actor.name,
                action="db.upgrade",
                subject="database",
                details={"from": before, "to": after},
            )
    return Migration(database=keel.db.display_url, before=before, after=after)


@dataclass(frozen=True)
class NewUser(Result):
    """A user just made, with its API key: shown once, never stored."""

    name: str
    role: Role
    api_key: str

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        return f"NewUser(name={self.name!r}, role={self.role.value!r}, api_key='***')"


@use_case(Role.ADMIN, action="adding a user", writes=True)
def add_user_with_key(keel: Keel, actor: Actor, name: str, role: Role) -> NewUser:
    """Create a user; only the hash of its key is stored."""
    with keel.unit() as unit:
        user, key = add_user(unit, actor, name, role)
    return NewUser(name=user.name, role=user.role, api_key=key)


@use_case(Role.VIEWER, action="listing users")
def list_users(keel: Keel, actor: Actor) -> list[User]:
    """Every user with role and status."""
    with keel.reader() as unit:
        return unit.users.all()


@use_case(Role.ADMIN, action="revoking a user", writes=True)
def revoke(keel: Keel, actor: Actor, name: str) -> User:
    """Revoke a user's key; the name stays reserved."""
    with keel.unit() as unit:
        return revoke_user(unit, actor, name)


@use_case(Role.VIEWER, action="reading the audit log")
def audit_log(
    keel: Keel,
    actor: Actor,
    *,
    limit: int = 50,
    action: str | None = None,
    subject: str | None = None,
) -> list[AuditEvent]:
    """Events newest first, optionally only one action or subject."""
    with keel.reader() as unit:
        return unit.audit.recent(limit=limit, action=action, subject=subject)


@use_case(Role.VIEWER, action="verifying the audit log")
def verify_audit(keel: Keel, actor: Actor) -> ChainReport:
    """Check the hash chain; the report names the first edited, removed or reordered event."""
    with keel.reader() as unit:
        return verify_chain(unit.audit.scan(), unit.audit.head())
