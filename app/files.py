"""Atomic file writes: readers see the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

TEMP_PREFIX = ".partial-"  # a leftover of a crash mid-write; never a finished file


def write_atomic(dest: Path, content: bytes | Callable[[IO[bytes]], None]) -> Path:
    """Write ``content`` (bytes, or a function writing to a binary file) to a temp file
    beside ``dest``, then rename it into place. The file is readable by the owner only
    (mkstemp's 0600): it may be a config file holding the token."""
    dest.parent.mkdir(parents=True, exist_ok=True)
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
