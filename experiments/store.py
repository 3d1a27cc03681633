"""The sweep store: an SQLite database (standard library ``sqlite3``), one row per finished run.

Atomicity, uniqueness and concurrent writers come from SQLite rather than from our own file code:

- WAL journal and a busy timeout, so several sweeps (processes or hosts sharing a local disk) can
  write one store at once; each finished run is one ``INSERT OR IGNORE`` in its own transaction,
  so a run is wholly stored or not at all, and a key already stored (by this or another sweep) is
  never written twice.
- The primary key is the run's full identity ``(activation, k, n, d, seed, flow_hash)``, where
  ``flow_hash`` is the SHA-256 of the flow options as canonical JSON; runs made with different flow
  options are different rows and are never mixed on resume.
- Provenance columns: copyavg version, flow options (JSON), creation time (UTC), host. Records
  imported from the legacy JSON-lines files, which carry no provenance, get ``flow_hash = "legacy"``
  and ``flow_options = NULL`` (options unknown) instead of a guess.
- :func:`open_store` creates the schema and makes a real write (a ``meta`` row, ``BEGIN
  IMMEDIATE``) before returning, so an unwritable or full target fails at once, before any run.

JSON-lines files (``docs/results/*.jsonl``) are an export format (:func:`export`); they are read
back line by line by :func:`read_jsonl`, which names every malformed line by file and line number
and never modifies the file.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import hashlib
import json
import os
import socket
import sqlite3
import stat
import sys
import tempfile
import time
import urllib.parse

SCHEMA_VERSION = 1
LEGACY = "legacy"  # flow_hash of records whose flow options are unknown
KEY = ("activation", "k", "n", "d", "seed")
REQUIRED = {"activation": str, "k": int, "n": int, "d": int, "seed": int, "endpoint": str, "status": str,
            "loss": (float, int, type(None))}
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 60_000

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS runs (
        activation TEXT NOT NULL, k INTEGER NOT NULL, n INTEGER NOT NULL, d INTEGER NOT NULL,
        seed INTEGER NOT NULL, flow_hash TEXT NOT NULL,
        flow_options TEXT, copyavg_version TEXT, created TEXT NOT NULL, host TEXT,
        record TEXT NOT NULL,
        PRIMARY KEY (activation, k, n, d, seed, flow_hash))""",
)


class StoreError(Exception):
    """A store or results file that cannot be opened, read or written; the message is one line."""


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def canonical_options(flow_options: dict | None) -> str:
    """Flow options as canonical JSON (sorted keys, no spaces); ``None`` is ``{}``."""
    return json.dumps(flow_options or {}, sort_keys=True, separators=(",", ":"))


def flow_hash(flow_options: dict | None) -> str:
    """SHA-256 (hex) of :func:`canonical_options`."""
    return hashlib.sha256(canonical_options(flow_options).encode()).hexdigest()


def copyavg_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("copyavg")
    except PackageNotFoundError:
        return "unknown"


def is_sqlite(path) -> bool:
    """True when ``path`` starts with the SQLite header (whatever its extension)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def check_record(rec, where: str) -> dict:
    """A record must be a JSON object with the key fields and the endpoint; raises StoreError."""
    if not isinstance(rec, dict):
        raise StoreError(f"{where}: not a JSON object ({type(rec).__name__})")
    missing = [k for k in REQUIRED if k not in rec]
    if missing:
        raise StoreError(f"{where}: missing key(s) {', '.join(missing)}")
    bad = [k for k, t in REQUIRED.items() if not isinstance(rec[k], t) or isinstance(rec[k], bool)]
    if bad:
        raise StoreError(f"{where}: wrong type for {', '.join(bad)}")
    return rec


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection):
    """``BEGIN IMMEDIATE`` (take the write lock now, waiting up to the busy timeout) ... ``COMMIT``;
    ``ROLLBACK`` on any error, so nothing half-written stays."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # the original error is the one to report
                conn.execute("ROLLBACK")
        raise


class Store:
    """An open store; use :func:`open_store`. Every method raises :class:`StoreError` on failure."""

    def __init__(self, path, conn: sqlite3.Connection):
        self.path = str(path)
        self.conn = conn
        self.host = socket.gethostname()
        self.version = copyavg_version()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _fail(self, what: str, exc: BaseException):
        raise StoreError(f"{self.path}: {what}: {_one_line(exc)}") from None

    def insert(self, record: dict, flow_options: dict | None, *, legacy: bool = False,
               provenance: dict | None = None) -> bool:
        """Store one run in its own transaction; False when its key was already stored.

        The provenance columns are this process's (version, host, now, ``flow_options``) unless
        ``legacy`` (all unknown) or ``provenance`` (a record exported by :func:`export`) is given.
        """
        key = tuple(record[k] for k in KEY)
        if provenance is None:
            provenance = ({"flow_hash": LEGACY} if legacy else
                          {"flow_hash": flow_hash(flow_options), "flow_options": canonical_options(flow_options),
                           "copyavg_version": self.version, "host": self.host})
        p = provenance
        row = (*key, p["flow_hash"], p.get("flow_options"), p.get("copyavg_version"),
               p.get("created") or _now(), p.get("host"), json.dumps(record))

        def write() -> bool:  # all or nothing: safe to repeat after a transient lock error
            with _transaction(self.conn):
                return self.conn.execute("INSERT OR IGNORE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                                         row).rowcount == 1

        try:
            return _retry_locked(write)
        except sqlite3.Error as exc:
            self._fail(f"cannot store run {key}", exc)

    def done_keys(self, flow_options: dict | None) -> set[tuple]:
        """Keys ``(activation, k, n, d, seed)`` stored with these flow options."""
        try:
            rows = _retry_locked(lambda: self.conn.execute(
                "SELECT activation, k, n, d, seed FROM runs WHERE flow_hash = ?", (flow_hash(flow_options),)).fetchall())
        except sqlite3.Error as exc:
            self._fail("cannot read", exc)
        return {tuple(r) for r in rows}

    def has(self, key: tuple, flow_options: dict | None) -> bool:
        """Is the run ``key = (activation, k, n, d, seed)`` stored with these flow options?"""
        try:
            return _retry_locked(lambda: self.conn.execute(
                "SELECT 1 FROM runs WHERE activation = ? AND k = ? AND n = ? AND d = ? AND seed = ? "
                "AND flow_hash = ?", (*key, flow_hash(flow_options))).fetchone()) is not None
        except sqlite3.Error as exc:
            self._fail("cannot read", exc)

    def pending(self, specs, flow_options: dict | None) -> list:
        """The specs (objects with a ``key``) not yet stored with these flow options."""
        done = self.done_keys(flow_options)
        return [s for s in specs if s.key not in done]

    def flow_sets(self) -> dict[str, tuple[str | None, int]]:
        """flow_hash -> (flow options JSON or None for legacy, number of runs)."""
        try:
            rows = self.conn.execute("SELECT flow_hash, MIN(flow_options), COUNT(*) FROM runs "
                                     "GROUP BY flow_hash ORDER BY flow_hash").fetchall()
        except sqlite3.Error as exc:
            self._fail("cannot read", exc)
        return {h: (o, c) for h, o, c in rows}

    def rows(self, flow_hash_prefix: str | None = None):
        """Yield ``(record, provenance)`` in key order; a record that is not valid JSON is named."""
        sql = ("SELECT rowid, record, flow_hash, flow_options, copyavg_version, created, host FROM runs"
               + (" WHERE flow_hash LIKE ? || '%'" if flow_hash_prefix else "")
               + " ORDER BY activation, k, n, d, seed, flow_hash")
        try:
            cur = self.conn.execute(sql, (flow_hash_prefix,) if flow_hash_prefix else ())
            for rowid, text, fh, opts, ver, created, host in cur:
                try:
                    rec = check_record(json.loads(text), f"{self.path}: run row {rowid}")
                except json.JSONDecodeError as exc:
                    raise StoreError(f"{self.path}: run row {rowid}: record is not JSON ({exc})") from None
                yield rec, {"flow_hash": fh, "flow_options": None if opts is None else json.loads(opts),
                            "copyavg_version": ver, "created": created, "host": host}
        except sqlite3.Error as exc:
            self._fail("cannot read", exc)


def _check_target(path) -> None:
    """Fail with one line on a target SQLite could not use, before it says something vaguer."""
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise StoreError(f"{path}: is a directory, not a store file")
    if not os.path.isdir(parent):
        raise StoreError(f"{path}: directory {parent} does not exist")
    if os.path.exists(path):
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise StoreError(f"{path}: not a regular file")
        if os.path.getsize(path) and not is_sqlite(path):
            raise StoreError(f"{path}: exists and is not an SQLite store (JSON lines? use `copyavg import`)")


def open_store(path, *, write: bool = True) -> Store:
    """Open (create) the store and, with ``write``, prove it writable by a real transaction."""
    _check_target(path)
    if not write and not os.path.exists(path):
        raise StoreError(f"{path}: does not exist")
    try:
        uri = f"file:{urllib.parse.quote(os.path.abspath(path))}" + ("" if write else "?mode=ro")
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open: {_one_line(exc)}") from None
    store = Store(path, conn)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        tables = _retry_locked(lambda: {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")})
        if tables and "meta" not in tables:  # someone else's database: add nothing to it
            raise StoreError(f"{path}: an SQLite database but not a copyavg store (no meta table)")
        if write:
            _retry_locked(lambda: _initialise(store))
        else:
            _check_schema(store)
    except StoreError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"{path}: cannot {'write' if write else 'read'} store: {_one_line(exc)}") from None
    return store


def _initialise(store: Store) -> None:
    """WAL journal, schema and a real write (the ``last_opened`` meta row) in one transaction."""
    conn = store.conn
    if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    with _transaction(conn):
        for statement in _SCHEMA:
            conn.execute(statement)
        _check_schema(store)
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('last_opened', ?)", (_now(),))


def _retry_locked(step, timeout_s: float = BUSY_TIMEOUT_MS / 1000):
    """Run ``step`` again while SQLite reports the database locked or busy, up to ``timeout_s``.

    SQLite's busy handler does not cover every lock at start-up: switching a new file to WAL
    needs an exclusive lock and answers SQLITE_BUSY at once when another process is opening the
    same file, and the recovery after a killed writer can do the same. Those are transient.
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            transient = any(w in str(exc).lower() for w in ("locked", "busy"))
            if not transient or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(2 * delay, 0.5)


def _check_schema(store: Store) -> None:
    conn = store.conn
    if conn.execute("SELECT name FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
        raise StoreError(f"{store.path}: not a copyavg store (no meta table)")
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    elif row[0] != str(SCHEMA_VERSION):
        raise StoreError(f"{store.path}: schema version {row[0]}, this copyavg reads {SCHEMA_VERSION}")


def read_jsonl(path, *, skip_bad: bool = False, warn=None) -> list[dict]:
    """Records of a JSON-lines results file, read only (the file is never changed).

    Every line must be a JSON object with the key fields (:data:`REQUIRED`); a blank, non-UTF-8,
    non-JSON or incomplete line is named as ``path:line: reason``. With ``skip_bad`` such lines are
    passed to ``warn`` and skipped; otherwise the first one raises :class:`StoreError`. A second
    line with the same run (key and flow hash) is named to ``warn`` and skipped: the first counts.
    """
    records, seen = [], {}
    try:
        with open(path, "rb") as fh:
            for lineno, raw in enumerate(fh, 1):
                where = f"{path}:{lineno}"
                try:
                    rec = _parse_line(raw, where)
                    provenance_of(rec, where)
                except StoreError as exc:
                    if not skip_bad:
                        raise StoreError(f"{exc} (use --skip-bad to skip malformed lines)") from None
                    if warn is not None:
                        warn(str(exc))
                    continue
                key = (*(rec[k] for k in KEY), rec.get("flow_hash", LEGACY))
                if key in seen:
                    if warn is not None:
                        warn(f"{where}: the same run as line {seen[key]}, skipped")
                    continue
                seen[key] = lineno
                records.append(rec)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc.strerror or _one_line(exc)}") from None
    return records


PROVENANCE = ("flow_hash", "flow_options", "copyavg_version", "created", "host")


def provenance_of(rec: dict, where: str) -> dict:
    """The provenance an exported record carries (legacy when none); the hash must match the options."""
    if "flow_hash" not in rec:
        return {"flow_hash": LEGACY}
    fh, opts = rec["flow_hash"], rec.get("flow_options")
    if fh != LEGACY and (not isinstance(opts, dict) or flow_hash(opts) != fh):
        raise StoreError(f"{where}: flow_hash does not match flow_options")
    return {"flow_hash": fh, "flow_options": None if fh == LEGACY else canonical_options(opts),
            **{k: rec.get(k) for k in ("copyavg_version", "created", "host")}}


def _parse_line(raw: bytes, where: str) -> dict:
    if not raw.endswith(b"\n"):
        where += " (last line, no newline: torn write?)"
    if not raw.strip():
        raise StoreError(f"{where}: blank line")
    try:
        rec = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise StoreError(f"{where}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise StoreError(f"{where}: not JSON ({exc.msg} at column {exc.colno})") from None
    return check_record(rec, where)


def read_results(path, *, skip_bad: bool = False, warn=None, flow_hash_prefix: str | None = None) -> list[dict]:
    """Records of a store (any extension, recognised by its header) or of a JSON-lines file.

    Runs made with more than one set of flow options are not mixed silently: ``flow_hash_prefix``
    must then choose one.
    """
    if not os.path.exists(path):
        raise StoreError(f"{path}: does not exist")
    if os.path.isdir(path):
        raise StoreError(f"{path}: is a directory, not a results file")
    if not is_sqlite(path):
        records = read_jsonl(path, skip_bad=skip_bad, warn=warn)
        sets = {}
        for r in records:
            sets[r.get("flow_hash", LEGACY)] = sets.get(r.get("flow_hash", LEGACY), 0) + 1
        chosen = _choose_flow(path, sets, flow_hash_prefix)
        return [r for r in records if chosen is None or r.get("flow_hash", LEGACY) == chosen]
    with open_store(path, write=False) as store:
        chosen = _choose_flow(path, {h: c for h, (_, c) in store.flow_sets().items()}, flow_hash_prefix)
        return [rec for rec, _ in store.rows(chosen)]


def _choose_flow(path, counts: dict[str, int], prefix: str | None) -> str | None:
    """The one flow hash to read (None: all, when there is at most one); StoreError if ambiguous."""
    chosen = [h for h in counts if prefix is None or h.startswith(prefix)]
    if prefix is not None and not chosen:
        raise StoreError(f"{path}: no runs with flow hash {prefix!r}")
    if len(chosen) > 1:
        names = ", ".join(f"{h[:12]} ({counts[h]} runs)" for h in chosen)
        raise StoreError(f"{path}: runs with different flow options ({names}); choose one with --flow-hash")
    return chosen[0] if prefix is not None else None


def import_jsonl(src, store: Store, *, skip_bad: bool = False, warn=None) -> tuple[int, int]:
    """Store the runs of a JSON-lines file: (stored, already there). A record exported by
    :func:`export` keeps its provenance; one without (the legacy files) gets ``flow_hash = "legacy"``."""
    records = read_jsonl(src, skip_bad=skip_bad, warn=warn)
    new = 0
    for rec in records:
        prov = provenance_of(rec, str(src))
        new += store.insert({k: v for k, v in rec.items() if k not in PROVENANCE}, None, provenance=prov)
    return new, len(records) - new


CSV_COLUMNS = ("activation", "k", "n", "d", "seed", "loss", "grad_max", "status", "endpoint", "partition",
               "distance", "effective_width", "reduction", "hessian_type", "inertia", "time_s", "message",
               "flow_hash", "flow_options", "copyavg_version", "created", "host")


def export(store: Store, fh, fmt: str, *, flow_hash_prefix: str | None = None) -> int:
    """Write every run (key order) to the open text file ``fh`` as ``jsonl`` or ``csv``; returns rows.

    JSON lines: the record plus its provenance (``flow_hash``, ``flow_options``, ``copyavg_version``,
    ``created``, ``host``), one object a line. CSV: the scalar columns of :data:`CSV_COLUMNS`
    (``partition``, ``reduction``, ``inertia`` and ``flow_options`` as JSON; empty when a record
    lacks the field), without curves and weights.
    """
    if fmt not in ("jsonl", "csv"):
        raise ValueError(f"format must be jsonl or csv, got {fmt!r}")
    writer = csv.DictWriter(fh, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writeheader()
    count = 0
    for rec, prov in store.rows(flow_hash_prefix):
        row = dict(rec, **prov)
        if writer:
            writer.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in row.items()})
        else:
            fh.write(json.dumps(row) + "\n")
        count += 1
    return count


def check_writable_dir(path) -> None:
    """Create the output directory if needed and write (and remove) a file in it; StoreError if not."""
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise StoreError(f"{path}: exists and is not a directory")
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path) as fh:
            fh.write(b"copyavg write test\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise StoreError(f"{path}: cannot write there: {exc.strerror or _one_line(exc)}") from None


@contextlib.contextmanager
def output_file(path):
    """A text file to write, checked before any work: ``-`` is standard output; a regular file is
    written to a temporary file beside it and renamed into place at the end (all or nothing); a
    device (e.g. ``/dev/full``) is written directly. Errors are ``StoreError`` or ``OSError``."""
    if path == "-":
        yield sys.stdout
        return
    if os.path.isdir(path):
        raise StoreError(f"{path}: is a directory, not a file")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise StoreError(f"{path}: directory {parent} does not exist")
    if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        with open(path, "w", encoding="utf-8", newline="") as fh:
            yield fh
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    except OSError as exc:
        raise StoreError(f"{path}: cannot write there: {exc.strerror or _one_line(exc)}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
