"""Sync state on disk: the data-directory lock and the last-run checkpoint.

Document truth lives in the store (chunk metadata), never here, so a Chroma server
can be fed from any machine. What lives under ``state_dir`` is only what belongs to one
data directory:

* ``sync.lock`` - one sync per data directory. The lock is an ``flock`` on the file, so
  the kernel releases it when the holder dies (even by ``kill -9``); a lock file left by
  a dead process is therefore taken over without guessing. The file also records the
  holder's PID, host and start time for the error message.
* ``sync-state.json`` - a checkpoint written atomically (temp file + rename): the run in
  progress, the spaces it finished, and the last run's summary. A rerun after a crash
  does not need it to converge (it re-derives everything from the store), but it can say
  that the previous run was interrupted.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> with SyncLock(d):
...     pass
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path

from ragconf.errors import SyncLockedError
from ragconf.index.types import JSONObject

try:  # POSIX; elsewhere fall back to an exclusive-create lock file with a PID check
    import fcntl
except ImportError:  # pragma: no cover - not on Linux/macOS
    fcntl = None  # type: ignore[assignment]

__all__ = ["SyncLock", "SyncState", "pid_alive"]

LOCK_NAME = "sync.lock"
STATE_NAME = "sync-state.json"


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class SyncLock:
    """Exclusive lock on a sync state directory; a context manager.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> lock = SyncLock(d); lock.acquire(); lock.release()
    """

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if fcntl is None:  # pragma: no cover
            self._acquire_exclusive_create()
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(self.path)
            os.close(fd)
            raise self._locked_error(holder) from None
        # we hold it: whatever the file says is from a dead or finished holder; overwrite
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(_holder_record()).encode())
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # an empty file means "free"; the flock is what counts
        if fcntl is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        if fcntl is None:  # pragma: no cover
            with contextlib.suppress(OSError):
                self.path.unlink()

    def __enter__(self) -> SyncLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _locked_error(self, holder: JSONObject) -> SyncLockedError:
        who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
        since = holder.get("started_at")
        when = ""
        if since:
            when = f", started {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since))}"
        return SyncLockedError(
            f"another sync ({who}{when}) is running on this data directory ({self.state_dir})"
        )

    def _acquire_exclusive_create(self) -> None:  # pragma: no cover - non-POSIX fallback
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = _read_holder(self.path)
                same_host = holder.get("host") == socket.gethostname()
                if same_host and not pid_alive(int(holder.get("pid") or 0)):
                    with contextlib.suppress(OSError):
                        self.path.unlink()  # stale: its process is gone
                    continue
                raise self._locked_error(holder) from None
            os.write(fd, json.dumps(_holder_record()).encode())
            self._fd = fd
            return
        raise self._locked_error(_read_holder(self.path))


def _holder_record() -> JSONObject:
    return {"pid": os.getpid(), "host": socket.gethostname(), "started_at": time.time()}


def _read_holder(path: Path) -> JSONObject:
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class SyncState:
    """The checkpoint file: what the current run has done, and how the last one ended.

    >>> import tempfile, pathlib
    >>> s = SyncState(pathlib.Path(tempfile.mkdtemp()))
    >>> s.begin(["ENG"], full=False); s.space_done("ENG"); s.finish({"added": 1})
    >>> s.load()["last_run"]["summary"]
    {'added': 1}
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / STATE_NAME

    def load(self) -> JSONObject:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def interrupted_run(self) -> JSONObject | None:
        """The run that was in progress when the last process died, if any."""
        run = self.load().get("running")
        return run if isinstance(run, dict) else None

    def begin(self, spaces: list[str], *, full: bool) -> None:
        data = self.load()
        data["running"] = {
            "pid": os.getpid(),
            "started_at": time.time(),
            "spaces": spaces,
            "full": full,
            "spaces_done": [],
        }
        self._write(data)

    def space_done(self, space_key: str) -> None:
        data = self.load()
        running = data.get("running")
        if isinstance(running, dict):
            running.setdefault("spaces_done", []).append(space_key)
            self._write(data)

    def finish(self, summary: JSONObject) -> None:
        data = self.load()
        data.pop("running", None)
        data["last_run"] = {"finished_at": time.time(), "summary": summary}
        self._write(data)

    def _write(self, data: JSONObject) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "w") as fh:
            json.dump(data, fh, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)  # atomic: a crash leaves the old or the new file
