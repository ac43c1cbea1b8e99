"""Atomic file writes: readers see the old file or the new one, never half of one.

Everything this app creates is its user's alone: files 0600, folders 0700 (the history
holds prompts, the cache and exports the pictures, the config file the token).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

TEMP_PREFIX = ".partial-"  # a leftover of a crash mid-write; never a finished file


def write_atomic(dest: Path, content: bytes | Callable[[IO[bytes]], None]) -> Path:
    """Write ``content`` (bytes, or a function writing to a binary file) to a temp file
    beside ``dest``, then rename it into place. The file is readable by the owner only
    (mkstemp's 0600): it may be a config file holding the token."""
    import tempfile  # imported when used: start-up time (`imagine-tui --help`)

    private_dir(dest.parent)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fp:
            if isinstance(content, bytes):
                fp.write(content)
            else:
                content(fp)
            fp.flush()
            os.fsync(fp.fileno())  # the rename must not land before the bytes do
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return dest


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents as 0700 folders; existing ones are left as
    they are (a folder the user chose keeps the mode they gave it)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            folder.mkdir(mode=0o700)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` 0600 if missing, else make it 0600 (an older version left it 0644).

    Never opens an existing file: closing any descriptor of a file drops every POSIX lock
    this process holds on it. A SQLite database open elsewhere in the process would lose
    its shared lock, and the next process to close the database would think itself the
    last, checkpoint and delete the WAL still being written to (issue 13)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        with contextlib.suppress(OSError):  # not ours to change: leave it
            os.chmod(path, 0o600)
    return path
