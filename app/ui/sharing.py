"""Saving, exporting and opening images from the TUI: the slow parts, as plain coroutines.

Each one downloads what is missing, writes files in a thread, and returns the sentence
to show (a :class:`Note`); the main screen runs it in a worker and shows the note.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.export import export_tree, open_in_viewer, save_job_images
from app.jobs.lineage import ancestors, descendants
from app.jobs.model import Job
from app.text import clean_text

if TYPE_CHECKING:
    from app.jobs.manager import Severity
    from app.runtime import Backend


@dataclass(frozen=True)
class Note:
    text: str
    severity: Severity = "information"
    timeout: float = 5


def reason(exc: BaseException) -> str:
    """A short human sentence for an error raised by the job or export layer."""
    if isinstance(exc, KeyError):
        return "That job is no longer in the history."
    return clean_text(str(exc.args[0]) if exc.args else type(exc).__name__)


async def _fetch_quietly(backend: Backend, url: str) -> None:
    # a failure is saved as "missing"; the note says how many
    with contextlib.suppress(Exception):
        await backend.images.fetch(url)


async def save_images(backend: Backend, job: Job, tiles: list[int] | None, dest: Path) -> Note:
    """Save ``tiles`` (1-based; None: all) of ``job`` and a JSON sidecar into ``dest``."""
    urls = job.display_urls
    wanted = [urls[i - 1] for i in tiles] if tiles else list(urls)
    await asyncio.gather(*(_fetch_quietly(backend, u) for u in wanted))
    lineage = ancestors({j.id: j for j in backend.manager.family(job.id)}, job)
    try:
        files = await asyncio.to_thread(
            save_job_images, job, backend.images.cached_path, dest, tiles, lineage=lineage
        )
    except (OSError, ValueError) as exc:
        return Note(f"Could not save: {reason(exc)}", "error")
    backend.manager.remember("save_dir", str(dest))
    missing = len(wanted) - len(files)
    what = f"{len(files)} image" + ("s" if len(files) != 1 else "")
    note = f" ({missing} could not be downloaded)" if missing else ""
    return Note(
        f"Saved {what} + JSON sidecar to {dest}{note}",
        "warning" if missing else "information",
        6,
    )


async def export(backend: Backend, root: str, dest: Path) -> Note:
    """The tree under ``root``: images, sidecars and an index.html in ``dest``."""
    jobs = backend.manager.family(root)
    cached = backend.images.cached_path

    def run() -> tuple[Path, int]:
        index = export_tree(jobs, root, cached, dest)
        urls = [u for j, _ in descendants(jobs, root) for u in j.display_urls]
        return index, sum(1 for u in urls if cached(u) is None)

    try:
        index, missing = await asyncio.to_thread(run)
    except (OSError, ValueError, KeyError) as exc:
        return Note(f"Could not export: {reason(exc)}", "error")
    backend.manager.remember("save_dir", str(dest.parent))
    note = f" ({missing} images not downloaded yet are listed as missing)" if missing else ""
    return Note(f"Exported to {index}{note}", timeout=8)


async def open_external(backend: Backend, url: str) -> Note:
    """Download the image if needed and open it in the system's image viewer."""
    try:
        path = await backend.images.fetch(url)
    except Exception as exc:
        why = clean_text(getattr(exc, "human", None) or reason(exc))
        return Note(f"Could not get the image: {why}", "error")
    if await asyncio.to_thread(open_in_viewer, path):
        return Note(f"Opening {path.name} in the image viewer", timeout=3)
    return Note(f"No image viewer here. The image is at {path}", "warning", 20)


TMUX_CLIPBOARD = (
    "tmux passes the copy on only with set-clipboard on: add `set -g set-clipboard on` "
    "to ~/.tmux.conf, then run `tmux source ~/.tmux.conf`."
)


async def clipboard_problem(env: dict[str, str]) -> str | None:
    """Why an OSC 52 copy may not reach the clipboard here, or None. Only tmux is known to
    drop it silently (its default, set-clipboard external, ignores applications)."""
    if not env.get("TMUX"):
        return None
    try:
        tmux = await asyncio.create_subprocess_exec(
            "tmux", "show-options", "-gv", "set-clipboard",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(tmux.communicate(), 2.0)
    except (OSError, TimeoutError):
        return TMUX_CLIPBOARD  # cannot ask: say how to make sure
    return None if out.decode(errors="replace").strip() == "on" else TMUX_CLIPBOARD
