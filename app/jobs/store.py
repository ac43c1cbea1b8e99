"""SQLite store of jobs, their lineage and the prompt history.

WAL mode with synchronous=NORMAL: a kill -9 loses at most the last transaction, never
the file. Each write is its own transaction, so a job is on disk before its request goes
out (see ``JobManager``), which is what makes "never submit twice" hold across restarts.

Several processes share one store (two windows, scripts):
- a write changes only the fields it names (``update``), never a whole row read earlier;
- every change of a job's fields bumps its ``rev`` (a trigger, so no writer can forget),
  and ``changed_since`` hands other processes what changed;
- an active job has one ``owner`` holding a lease (``claim``, ``renew``, ``release``):
  only the owner sends or polls it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import sqlite3
import string
import threading
import urllib.parse
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from app.files import private_dir, private_file
from app.gcpause import gc_paused
from app.jobs.model import Job, JobState, title_of

# 2: tree keys recomputed once, for files whose children saved before their parent kept
# a root's key (before the trigger moved them under it).
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    prompt TEXT NOT NULL,
    label TEXT,
    parent_id TEXT,
    state TEXT NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0,
    message_id TEXT,
    button_message_id TEXT,
    progress_image_url TEXT,
    buttons TEXT NOT NULL DEFAULT '[]',
    image_url TEXT,
    image_urls TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    error_code TEXT,
    options TEXT NOT NULL DEFAULT '{}',
    favourite INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_parent ON jobs(parent_id);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created_at);
CREATE TABLE IF NOT EXISTS revision (n INTEGER NOT NULL);
INSERT INTO revision(n) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM revision);
CREATE TABLE IF NOT EXISTS prompts (
    prompt TEXT PRIMARY KEY,
    used_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# Added after version 1 shipped: ALTERed into older files on open.
_SHARING_COLUMNS = {
    "owner": "TEXT",  # the process that sends and polls this job
    "lease_until": "REAL",  # wall-clock seconds; after this anyone may take the job over
    "rev": "INTEGER NOT NULL DEFAULT 0",  # revision of the last change of a job field
    "tree_key": "TEXT",  # the job's place in the list's tree order (see _TREE)
}
_SHARING = """
CREATE INDEX IF NOT EXISTS jobs_rev ON jobs(rev);
CREATE INDEX IF NOT EXISTS jobs_message ON jobs(message_id);
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs(finished_at);
CREATE INDEX IF NOT EXISTS jobs_button_message ON jobs(button_message_id);
CREATE INDEX IF NOT EXISTS jobs_favourite ON jobs(favourite) WHERE favourite = 1;
CREATE TRIGGER IF NOT EXISTS jobs_rev_insert AFTER INSERT ON jobs BEGIN
    UPDATE revision SET n = n + 1;
    UPDATE jobs SET rev = (SELECT n FROM revision) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER IF NOT EXISTS jobs_rev_update AFTER UPDATE OF {fields} ON jobs BEGIN
    UPDATE revision SET n = n + 1;
    UPDATE jobs SET rev = (SELECT n FROM revision) WHERE rowid = NEW.rowid;
END;
"""

# The job list shows the history as a tree: roots in creation order, each job's children
# under it. A job's tree_key is its parent's key, '/', then its own creation time and id
# (fixed width), so ORDER BY tree_key is that order and a page of it is an index range.
# A job whose parent is not in the history (yet) is a root, as on the list. Kept by a
# trigger; older files' keys are recomputed once on open (see _migrate).
_OWN_KEY = "printf('%017.6f:', {t}.created_at) || {t}.id"
_TREE = f"""
CREATE INDEX IF NOT EXISTS jobs_tree ON jobs(tree_key);
DROP TRIGGER IF EXISTS jobs_tree_insert;
CREATE TRIGGER IF NOT EXISTS jobs_tree_keys AFTER INSERT ON jobs BEGIN
    UPDATE jobs SET tree_key = COALESCE(
        (SELECT p.tree_key || '/' FROM jobs p
         WHERE p.id = NEW.parent_id AND p.rowid != NEW.rowid AND p.tree_key IS NOT NULL),
        '') || {_OWN_KEY.format(t="NEW")}
    WHERE rowid = NEW.rowid;
    -- Its children saved before it (an import out of order) were roots: under it now,
    -- with everything under them.
    UPDATE jobs SET tree_key = (SELECT tree_key FROM jobs WHERE rowid = NEW.rowid)
        || '/' || tree_key
    WHERE rowid IN (
        SELECT d.rowid FROM jobs c JOIN jobs d
            ON d.tree_key = c.tree_key
            OR (d.tree_key > c.tree_key || '/' AND d.tree_key < c.tree_key || '0')
        WHERE c.parent_id = NEW.id AND c.rowid != NEW.rowid
            AND c.created_at >= NEW.created_at AND instr(c.tree_key, '/') = 0);
END;
"""
_SIBLING_AFTER = "SELECT 1 FROM jobs WHERE tree_key > ? AND tree_key < ? LIMIT 1"


def own_key(created_at: float, job_id: str) -> str:
    """A job's own part of its tree key (as the trigger writes it)."""
    return f"{created_at:017.6f}:{job_id}"


# Column names are the Job's field names, in the same order (rows map onto fields).
_FIELDS = tuple(f.name for f in dataclasses.fields(Job))
_COLUMNS = ", ".join(_FIELDS)
_STATES = {state.value: state for state in JobState}
_ACTIVE = tuple(state.value for state in JobState if state.active)
_IN_ACTIVE = f"state IN ({', '.join('?' * len(_ACTIVE))})"


_UPDATABLE = frozenset(_FIELDS[1:])  # all but the id
_UPSERT = (
    f"INSERT INTO jobs ({_COLUMNS}) VALUES ({', '.join('?' * len(_FIELDS))}) "
    f"ON CONFLICT(id) DO UPDATE SET {', '.join(f'{n} = excluded.{n}' for n in _FIELDS[1:])}"
)

PAGE = 50  # rows of the job list read at a time


class TreeRow(NamedTuple):
    """A row of the job list: the job, and from its top-level ancestor's child down to
    itself whether each is the last child of its parent (the tree lines; [] for a root)."""

    job: Job
    last: list[bool]


@dataclass(frozen=True)
class TreeSnapshot:
    """Part of the job list at one moment: its length, some pages of PAGE rows (by page
    number) and the rows of the jobs asked for (absent: not listed)."""

    count: int
    pages: dict[int, list[TreeRow]]
    found: dict[str, int]
    jobs: int  # jobs in the history (the view's count's "of"); a change means new rows
    newest: float = 0.0  # the latest creation time: a job made after it is listed last


@dataclass(frozen=True)
class HistoryShape:
    """The end of the job list, read before the UI exists: its first frame is drawn from
    this (a few milliseconds, whatever the history's length)."""

    snapshot: TreeSnapshot
    theme: str | None = None  # the theme the UI last used, kept with the history


def read_history_shape(path: Path) -> HistoryShape | None:
    """The shape of the history at ``path``; None when there is none or it cannot be read
    (opening the store later says what is wrong)."""
    if not path.is_file():
        return None
    try:
        with JobStore(path, read_only=True) as store:
            return HistoryShape(store.tree_snapshot((), tail=True), store.get_meta("theme"))
    except (StoreError, sqlite3.DatabaseError):
        return None


class PromptRow(NamedTuple):
    id: str
    kind: str
    prompt: str
    created_at: float


# SQLite's lower() folds ASCII letters only: the prompt search's words fold the same way.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def prompt_words(query: str) -> list[str]:
    """The words a prompt search looks for, as :meth:`JobStore.prompt_rows` matches them."""
    return query.translate(_ASCII_LOWER).split()


def has_words(prompt: str, words: Iterable[str]) -> bool:
    """``prompt`` holds every one of ``words``, as :meth:`JobStore.prompt_rows` finds it."""
    folded = prompt.translate(_ASCII_LOWER)
    return all(word in folded for word in words)


class StoreError(Exception):
    """The history database cannot be opened or written.

    ``transient``: it may work when tried again (locked by another program, disk full);
    otherwise this write can never succeed (a broken file, a duplicate id)."""

    def __init__(self, human: str, *, transient: bool = True) -> None:
        super().__init__(human)
        self.human = human
        self.transient = transient


@functools.lru_cache(maxsize=1024)
def _labels(raw: str) -> tuple[str, ...]:
    """Button lists repeat across thousands of jobs: decode each distinct one once."""
    return tuple(json.loads(raw))


def _row_to_job(row: tuple[Any, ...]) -> Job:
    # A history of 10k jobs loads at start-up: fields by position, no per-field __init__.
    fields = dict(zip(_FIELDS, row, strict=True))
    fields["state"] = _STATES.get(fields["state"], JobState.FAILED)
    fields["buttons"] = _labels(fields["buttons"])
    urls = fields["image_urls"]
    fields["image_urls"] = () if urls == "[]" else tuple(json.loads(urls))
    options = fields["options"]
    fields["options"] = {} if options == "{}" else dict(json.loads(options))
    fields["favourite"] = bool(fields["favourite"])
    return Job.restore(fields)


def _column_value(name: str, value: Any) -> Any:
    """A job field's value as its column holds it."""
    if name == "state":
        return JobState(value).value
    if name in ("buttons", "image_urls"):
        return json.dumps(list(value), ensure_ascii=False)
    if name == "options":
        return json.dumps(value, ensure_ascii=False)
    if name == "favourite":
        return int(value)
    return value


def _job_text(kind: str, label: str | None, prompt: str) -> str:
    """What the list's search looks in: the prompt and the title, casefolded."""
    return f"{prompt}\n{title_of(kind, label)}".casefold()


def view_condition(
    states: Iterable[JobState] | None, favourites: bool, words: Iterable[str]
) -> tuple[str, tuple[Any, ...]]:
    """An SQL condition on jobs for the list's view: one of ``states`` (None: any), a
    favourite if ``favourites``, and every (casefolded) word in the prompt or title."""
    parts: list[str] = []
    params: list[Any] = []
    if states is not None:
        values = [state.value for state in states]
        parts.append(f"state IN ({', '.join('?' * len(values))})")
        params += values
    if favourites:
        parts.append("favourite = 1")
    for word in words:
        parts.append("instr(job_text(kind, label, prompt), ?) > 0")
        params.append(word)
    return " AND ".join(parts) or "1", tuple(params)


def _job_to_row(job: Job) -> tuple[Any, ...]:
    return tuple(_column_value(name, getattr(job, name)) for name in _FIELDS)


class JobStore:
    """Jobs by id, in creation order, with their parent links."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        """``read_only``: for a look at an existing history (listing it, the first screen):
        it writes nothing, so it never waits for another program's write lock."""
        self.path = Path(path)
        self.read_only = read_only
        self._matched: tuple[tuple[Any, ...], array[int]] | None = None  # see _matching
        try:
            if read_only:
                uri = f"file:{urllib.parse.quote(str(self.path))}?mode=ro"
                self._db = sqlite3.connect(
                    uri, uri=True, isolation_level=None, check_same_thread=False
                )
                self._db.execute("PRAGMA busy_timeout=5000")
                self._db.create_function("job_text", 3, _job_text, deterministic=True)
                return
            if str(path) != ":memory:":
                # SQLite gives the -wal and -shm files the database file's mode.
                private_file(private_dir(self.path.parent) / self.path.name)
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.create_function("job_text", 3, _job_text, deterministic=True)
            self._db.execute("PRAGMA busy_timeout=5000")  # first: switching to WAL waits too
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._add_sharing()
            self._migrate()
        except (sqlite3.DatabaseError, OSError) as exc:  # OSError: the folder is a file...
            raise StoreError(
                f"Cannot open the job history at {self.path}: {exc}",
                transient=isinstance(exc, (sqlite3.OperationalError, OSError)),
            ) from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _add_sharing(self) -> None:
        have = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        for name, decl in _SHARING_COLUMNS.items():
            if name not in have:
                self._db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {decl}")
        self._db.executescript(_SHARING.format(fields=_COLUMNS))
        self._db.executescript(_TREE)

    def _migrate(self) -> None:
        """Bring an older file up to SCHEMA_VERSION, once: the first process to open it
        does it under the write lock; others wait for it and find it done."""
        if not self._migration_due():
            return
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            if self._migration_due():  # again: another process may have done it meanwhile
                if self._recompute_tree_keys():
                    # The list's order changed: as any change does, it moves the revision
                    # (other processes' readers key what they hold on it).
                    self._db.execute("UPDATE revision SET n = n + 1")
                self._db.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema', ?)",
                    (str(SCHEMA_VERSION),),
                )

    def _migration_due(self) -> bool:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        version = int(row[0]) if row and str(row[0]).isdigit() else 0
        # A key missing: a job written by a program from before the tree keys.
        missing = "SELECT 1 FROM jobs WHERE tree_key IS NULL LIMIT 1"
        return version < SCHEMA_VERSION or self._db.execute(missing).fetchone() is not None

    def _recompute_tree_keys(self) -> int:
        """Every job's tree key as the list orders it (creation order, a job under its
        parent when that was created before it); only the keys that differ are written,
        and counted."""
        keys: dict[str, str] = {}
        updates = []
        # Sorted here: ORDER BY created_at reads the rows in the index's order, twice as slow.
        rows = sorted(
            self._db.execute("SELECT created_at, rowid, id, parent_id, tree_key FROM jobs")
        )
        for created_at, rowid, job_id, parent_id, old in rows:
            parent = keys.get(parent_id) if parent_id is not None else None
            key = (parent + "/" if parent else "") + own_key(created_at, job_id)
            keys[job_id] = key
            if key != old:
                updates.append((key, rowid))
        self._db.executemany("UPDATE jobs SET tree_key = ? WHERE rowid = ?", updates)
        return len(updates)

    def save(self, job: Job) -> None:
        """Write every field of ``job`` (a new job, or a whole imported one); its owner and
        lease stay. Changes to a known job go through ``update``."""
        self._write(_UPSERT, _job_to_row(job))

    def save_many(self, jobs: Iterable[Job]) -> None:
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(_UPSERT, [_job_to_row(j) for j in jobs])
        except sqlite3.DatabaseError as exc:
            raise self._write_failed(exc) from None

    def insert(self, job: Job, *, owner: str, lease_until: float) -> None:
        """A new job, owned by ``owner`` from the start: nobody else may send it."""
        placeholders = ", ".join("?" * (len(_FIELDS) + 2))
        self._write(
            f"INSERT INTO jobs ({_COLUMNS}, owner, lease_until) VALUES ({placeholders})",
            (*_job_to_row(job), owner, lease_until),
        )

    def update(
        self, job_id: str, changes: dict[str, Any], *, owner: str | None = None
    ) -> Job | None:
        """Change only the named fields; the job as stored afterwards, or None when there
        is no such job (or, with ``owner``, when that owner no longer holds it)."""
        if not changes.keys() <= _UPDATABLE:
            raise ValueError(f"not updatable job fields: {sorted(changes.keys() - _UPDATABLE)}")
        sets = ", ".join(f"{name} = ?" for name in changes)
        params = [_column_value(name, value) for name, value in changes.items()]
        where = "id = ?" + (" AND owner = ?" if owner is not None else "")
        params += [job_id] + ([owner] if owner is not None else [])
        try:
            # fetchall: a RETURNING statement holds the write lock until it is stepped out.
            rows = self._db.execute(
                f"UPDATE jobs SET {sets} WHERE {where} RETURNING {_COLUMNS}", params
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._write_failed(exc) from None
        return _row_to_job(rows[0]) if rows else None

    # -- ownership: one process sends and polls each active job --------------------------

    def claim(
        self, job_id: str, owner: str, lease_until: float, now: float, *, was: str | None = None
    ) -> Job | None:
        """Take over an active job nobody holds, whose lease ran out, or still held by
        ``was`` (a process known to be dead); the job when ``owner`` now holds it. One
        statement, so two processes can never both win."""
        try:
            rows = self._db.execute(
                f"UPDATE jobs SET owner = ?, lease_until = ? WHERE id = ? AND {_IN_ACTIVE} "
                "AND (owner IS NULL OR owner IN (?, ?) OR lease_until IS NULL "
                f"OR lease_until < ?) RETURNING {_COLUMNS}",
                (owner, lease_until, job_id, *_ACTIVE, owner, was or owner, now),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._write_failed(exc) from None
        return _row_to_job(rows[0]) if rows else None

    def active_leases(self) -> list[tuple[str, str | None, float | None]]:
        """(id, owner, lease end) of every active job, oldest first."""
        return self._db.execute(
            f"SELECT id, owner, lease_until FROM jobs WHERE {_IN_ACTIVE} ORDER BY created_at",
            _ACTIVE,
        ).fetchall()

    def owner_of(self, job_id: str) -> str | None:
        row = self._db.execute("SELECT owner FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row[0] if row else None

    def renew(self, owner: str, lease_until: float) -> set[str]:
        """Extend this owner's leases on its active jobs; the ids it still holds."""
        try:
            rows = self._db.execute(
                f"UPDATE jobs SET lease_until = ? WHERE owner = ? AND {_IN_ACTIVE} RETURNING id",
                (lease_until, owner, *_ACTIVE),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._write_failed(exc) from None
        return {row[0] for row in rows}

    def release(self, owner: str) -> None:
        """Let other processes take over this owner's jobs at once (it is closing)."""
        self._write("UPDATE jobs SET owner = NULL, lease_until = NULL WHERE owner = ?", (owner,))

    # -- changes made by other processes -----------------------------------------------

    def data_version(self) -> int:
        """Changes when another connection commits: a cheap "look again" signal."""
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def revision(self) -> int:
        return int(self._db.execute("SELECT n FROM revision").fetchone()[0])

    def changed_since(self, rev: int) -> tuple[list[Job], int]:
        """Jobs whose fields changed after revision ``rev``, and the revision now."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS}, rev FROM jobs WHERE rev > ? ORDER BY rev", (rev,)
        ).fetchall()
        if not rows:
            return [], rev
        return [_row_to_job(row[:-1]) for row in rows], int(rows[-1][-1])

    def get(self, job_id: str) -> Job | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _row_to_job(row) if row else None

    def all(self) -> list[Job]:
        """Every job, oldest first."""
        with gc_paused():  # a 10k-job history loads at start-up
            return list(self._iter("SELECT {cols} FROM jobs ORDER BY created_at, rowid"))

    # -- the list's tree order, a page at a time -----------------------------------------

    def tree_count(self, where: str = "", params: tuple[Any, ...] = ()) -> int:
        """Jobs on the list (those matching ``where``, an SQL condition on jobs' columns)."""
        sql = "SELECT count(*) FROM jobs" + (f" WHERE {where}" if where else "")
        return int(self._db.execute(sql, params).fetchone()[0])

    def tree_page(
        self,
        offset: int,
        limit: int,
        where: str = "",
        params: tuple[Any, ...] = (),
        *,
        rows: int | None = None,
    ) -> list[TreeRow]:
        """Rows ``offset`` to ``offset + limit`` of the list in tree order. Under a filter
        the lines are still those of the whole tree, as the list draws them. ``rows``:
        the list's length, when known: a page in its second half is read from the end
        (an OFFSET steps over every row before it: 15 ms at the end of 100,000)."""
        filtered = f" WHERE {where}" if where else ""
        sql = f"SELECT {_COLUMNS}, tree_key FROM jobs{filtered} ORDER BY tree_key"
        if rows is not None and offset > rows // 2:
            end = min(rows, offset + limit)
            found = self._db.execute(
                sql + " DESC LIMIT ? OFFSET ?", (*params, max(0, end - offset), rows - end)
            ).fetchall()[::-1]
        else:
            found = self._db.execute(sql + " LIMIT ? OFFSET ?", (*params, limit, offset)).fetchall()
        return [TreeRow(_row_to_job(row[:-1]), self._last_flags(row[-1])) for row in found]

    def tree_row(
        self,
        job_id: str,
        where: str = "",
        params: tuple[Any, ...] = (),
        *,
        rows: int | None = None,
    ) -> int | None:
        """The row of ``job_id`` on the list; None when it is not listed. ``rows``: the
        list's length, when known: a job of the later half of the history (by its
        top-level job's time) is counted from the end."""
        row = self._db.execute("SELECT tree_key FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        key = str(row[0])
        if where:
            listed = self._db.execute(
                f"SELECT 1 FROM jobs WHERE id = ? AND ({where})", (job_id, *params)
            ).fetchone()
            if listed is None:
                return None
        also = f" AND ({where})" if where else ""
        if rows is not None and self._late(key):
            sql = f"SELECT count(*) FROM jobs WHERE tree_key >= ?{also}"
            return rows - int(self._db.execute(sql, (key, *params)).fetchone()[0])
        sql = f"SELECT count(*) FROM jobs WHERE tree_key < ?{also}"
        return int(self._db.execute(sql, (key, *params)).fetchone()[0])

    def _late(self, key: str) -> bool:
        """Whether ``key``'s top-level job is of the later half of the history's time."""
        # Two queries: min() and max() together would scan the table, each alone is a look
        # at one end of the index.
        first = self._db.execute("SELECT min(created_at) FROM jobs").fetchone()[0]
        last = self._db.execute("SELECT max(created_at) FROM jobs").fetchone()[0]
        try:
            when = float(key.split(":", 1)[0])
        except ValueError:
            return False
        return first is not None and when > (first + last) / 2

    def tree_snapshot(
        self,
        pages: Iterable[int],
        where: str = "",
        params: tuple[Any, ...] = (),
        *,
        find: Iterable[str] = (),
        keep: str | None = None,
        tail: bool = False,
        jobs: int | None = None,
        rows: int | None = None,
    ) -> TreeSnapshot:
        """``pages`` of the list (with ``tail``: the last two too), the rows of the jobs
        of ``find`` and their pages, in one read. The list's length (and the row of
        ``keep``, the job under the cursor) is read when the history's length is no
        longer ``jobs``, the one the caller's other pages were read at (no new rows: a
        search's count, a scan, is not taken again); otherwise count is -1 and ``rows``
        is taken for the list's length."""
        with self._reading():
            total = self.count()
            matching = self._matching(where, params) if where else None
            count = -1
            if jobs != total:
                count = total if matching is None else len(matching)
            known = count if count >= 0 else rows
            look = [*find, *([keep] if keep is not None and count >= 0 else [])]
            found = {}
            for job_id in look:
                if matching is None:
                    row = self.tree_row(job_id, rows=known)
                else:
                    row = self._row_among(job_id, matching)
                if row is not None:
                    found[job_id] = row
            wanted = set(pages) | {row // PAGE for row in found.values()}
            if tail and count > 0:
                wanted |= {max(0, (count - 1) // PAGE - 1), (count - 1) // PAGE}
            read = {}
            for page in sorted(wanted):
                if page < 0 or (count >= 0 and page * PAGE >= count):
                    continue
                if matching is None:
                    read[page] = self.tree_page(page * PAGE, PAGE, rows=known)
                else:
                    read[page] = self._rows_by_rowid(matching[page * PAGE : (page + 1) * PAGE])
            newest = self._db.execute("SELECT max(created_at) FROM jobs").fetchone()[0]
        pages_read = {p: got for p, got in read.items() if got}
        return TreeSnapshot(count, pages_read, found, total, newest or 0.0)

    def _matching(self, where: str, params: tuple[Any, ...]) -> array[int]:
        """Rowids of the jobs ``where`` accepts, in tree order, kept until the history
        changes: a view's count, rows and pages are then lookups, where each was a scan
        (a search calls Python for every job: ~250 ms for 100,000)."""
        key = (where, params, self.revision())
        if self._matched is None or self._matched[0] != key:
            sql = f"SELECT rowid FROM jobs WHERE {where} ORDER BY tree_key"
            self._matched = key, array("q", (r[0] for r in self._db.execute(sql, params)))
        return self._matched[1]

    def _row_among(self, job_id: str, matching: array[int]) -> int | None:
        found = self._db.execute("SELECT rowid FROM jobs WHERE id = ?", (job_id,)).fetchone()
        try:
            return matching.index(found[0]) if found else None
        except ValueError:  # not in the view
            return None

    def _rows_by_rowid(self, rowids: Sequence[int]) -> list[TreeRow]:
        marks = ", ".join("?" * len(rowids))
        found = self._db.execute(
            f"SELECT {_COLUMNS}, tree_key FROM jobs WHERE rowid IN ({marks}) ORDER BY tree_key",
            tuple(rowids),
        ).fetchall()
        return [TreeRow(_row_to_job(row[:-1]), self._last_flags(row[-1])) for row in found]

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """One read transaction on a look-only connection: a count and the pages read
        after it agree even while other processes write. (A writable connection may be
        shared with a writer thread: there each statement stands alone.)"""
        if not self.read_only:
            yield
            return
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            self._db.execute("COMMIT")

    def _last_flags(self, key: str) -> list[bool]:
        # Keys after a node's own subtree and before its parent's end are its later
        # siblings' ('/' sorts before '0', so node + '0' is past every key under node).
        parts = key.split("/")
        flags = []
        for depth in range(1, len(parts)):
            node, parent = "/".join(parts[: depth + 1]), "/".join(parts[:depth])
            later = self._db.execute(_SIBLING_AFTER, (node + "0", parent + "0")).fetchone()
            flags.append(later is None)
        return flags

    def newest(self, limit: int) -> list[Job]:
        """The ``limit`` most recently created jobs, newest first."""
        return list(
            self._iter(
                "SELECT {cols} FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)
            )
        )

    def image_urls_to_keep(self, newest: int) -> set[str]:
        """Image URLs of favourite jobs and of the ``newest`` jobs: never evicted."""
        # Two index lookups: with an OR SQLite scanned every row (90 ms for 100,000).
        rows = self._db.execute(
            "SELECT image_url, image_urls FROM jobs WHERE favourite = 1 UNION ALL "
            "SELECT * FROM (SELECT image_url, image_urls FROM jobs "
            "ORDER BY created_at DESC LIMIT ?)",
            (newest,),
        ).fetchall()
        urls = {url for url, _ in rows if url}
        for _, many in rows:
            urls.update(json.loads(many))
        return urls

    def unfinished(self) -> list[Job]:
        finished = (JobState.DONE.value, JobState.FAILED.value)
        return list(
            self._iter(
                "SELECT {cols} FROM jobs WHERE state NOT IN (?, ?) ORDER BY created_at",
                finished,
            )
        )

    def family(self, job_id: str) -> list[Job]:
        """Every job of the tree ``job_id`` is in (its top-level ancestor's), oldest first."""
        row = self._db.execute("SELECT tree_key FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or row[0] is None:
            return []
        top = str(row[0]).split("/", 1)[0]
        return list(
            self._iter(
                "SELECT {cols} FROM jobs WHERE tree_key = ? OR (tree_key > ? AND tree_key < ?) "
                "ORDER BY created_at, rowid",
                (top, top + "/", top + "0"),
            )
        )

    def prompt_rows(self, words: Sequence[str], limit: int) -> list[PromptRow]:
        """The palette's prompt search: (id, kind, prompt, created_at) of the newest job of
        each distinct prompt holding every one of ``words`` (see :func:`prompt_words`), an
        imagine rather than a button job if there is one; newest first, ``limit`` at most,
        however long the history."""
        where = " AND ".join(["instr(lower(prompt), ?) > 0"] * len(words)) or "1"
        # With one max() the bare columns are its row's; + 1e12 (created_at is epoch
        # seconds) puts any imagine job of a prompt before its button jobs.
        rows = self._db.execute(
            "SELECT id, kind, prompt, created_at, max((kind = 'imagine') * 1e12 + created_at) "
            f"FROM jobs WHERE {where} GROUP BY prompt ORDER BY created_at DESC LIMIT ?",
            (*words, limit),
        )
        return [PromptRow(*row[:4]) for row in rows]

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM jobs").fetchone()[0])

    def by_message(self, message_id: str) -> list[Job]:
        """Jobs the service knows by ``message_id`` (their own or their buttons'), oldest
        first (webhooks, pressing a button by message id)."""
        return list(
            self._iter(
                "SELECT {cols} FROM jobs WHERE message_id = ? UNION "
                "SELECT {cols} FROM jobs WHERE button_message_id = ? ORDER BY created_at",
                (message_id, message_id),
            )
        )

    def finished_since(self, since: float, limit: int) -> list[Job]:
        """The ``limit`` most recently finished done jobs finished after ``since``."""
        return list(
            self._iter(
                # +state: the finished_at index, not the state one (most jobs are done)
                "SELECT {cols} FROM jobs WHERE +state = ? AND finished_at > ? "
                "ORDER BY finished_at DESC LIMIT ?",
                (JobState.DONE.value, since, limit),
            )
        )

    def children(self, job_id: str) -> list[Job]:
        return list(
            self._iter(
                "SELECT {cols} FROM jobs WHERE parent_id = ? ORDER BY created_at, rowid", (job_id,)
            )
        )

    # -- prompt history ----------------------------------------------------------------

    def remember_prompt(self, prompt: str, used_at: float) -> None:
        self._write(
            "INSERT INTO prompts(prompt, used_at) VALUES (?, ?) "
            "ON CONFLICT(prompt) DO UPDATE SET used_at = excluded.used_at",
            (prompt, used_at),
        )

    def prompts(self, limit: int = 500) -> list[str]:
        """Earlier prompts, most recent last (the order an input's history walks)."""
        rows = self._db.execute(
            "SELECT prompt FROM prompts ORDER BY used_at DESC LIMIT ?", (limit,)
        ).fetchall()
        return [r[0] for r in reversed(rows)]

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._write("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # -- plumbing ------------------------------------------------------------------------

    def _iter(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[Job]:
        for row in self._db.execute(sql.format(cols=_COLUMNS), params):
            yield _row_to_job(row)

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        try:
            self._db.execute(sql, params)
        except sqlite3.DatabaseError as exc:
            raise self._write_failed(exc) from None

    def _write_failed(self, exc: sqlite3.DatabaseError) -> StoreError:
        # OperationalError: locked, busy, disk full, I/O; the rest will fail again.
        return StoreError(
            f"Cannot write the job history at {self.path}: {exc}",
            transient=isinstance(exc, sqlite3.OperationalError),
        )


T = TypeVar("T")  # what a TreeReader read returns


class TreeReader:
    """The job list's reads (and the palette's), meant for worker threads: on a look-only
    connection of their own, so they never wait for the writer's lock nor hold the UI's
    thread."""

    def __init__(self, store: JobStore) -> None:
        self._store = store
        self._own: JobStore | None = None
        self._lock = threading.Lock()
        self._reading = threading.Lock()  # one read at a time: closing waits for none
        self._busy = False
        self._closed = False

    def snapshot(
        self, pages: Iterable[int], where: str = "", params: tuple[Any, ...] = (), **kw: Any
    ) -> TreeSnapshot:
        return self.read(lambda store: store.tree_snapshot(pages, where, params, **kw))

    def read(self, what: Callable[[JobStore], T]) -> T:
        """``what`` done with this reader's connection, one read at a time."""
        with self._reading:
            with self._lock:
                if self._closed:
                    raise StoreError("The job history is closed.")
                self._busy = True
            try:
                return what(self._connection())
            finally:
                with self._lock:
                    self._busy = False
                    if self._closed:
                        self._close()

    def close(self) -> None:
        """Close now, or when the read under way ends: a connection closed under a read
        in another thread can crash the process."""
        with self._lock:
            self._closed = True
            if not self._busy:
                self._close()

    def _connection(self) -> JobStore:
        if str(self._store.path) == ":memory:":  # a second connection would be another db
            return self._store
        if self._own is None:
            self._own = JobStore(self._store.path, read_only=True)
        return self._own

    def _close(self) -> None:
        if self._own is not None:
            self._own.close()
            self._own = None
