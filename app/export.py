"""Save a job's images, and export a whole tree of jobs as a folder with a contact sheet.

No textual here: scripts can use it. Everything is offline: images come from the local
cache through ``image_path_for(url) -> Path | None``; an image not in the cache is listed
as missing, never downloaded. File names come from job ids (sanitised), never from URLs.
Every piece of text in ``index.html`` is HTML-escaped: prompts come from users and
button labels from the server.
"""

from __future__ import annotations

import html
import json
import os
import platform
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from app.files import private_dir, write_atomic
from app.images.cache import safe_stem, save_copy
from app.jobs.lineage import ancestors, descendants
from app.jobs.model import Job

ImageLookup = Callable[[str], Path | None]
THUMB_SIDE = 256
_THUMB_DIR = "thumbs"


class _HasCachedPath(Protocol):
    def cached_path(self, url: str) -> Path | None: ...


def as_lookup(source: ImageLookup | _HasCachedPath) -> ImageLookup:
    """An :class:`~app.images.ImagePipeline` (its ``cached_path``) or a plain callable."""
    cached = getattr(source, "cached_path", None)
    if cached is not None and callable(cached):
        return cached  # type: ignore[no-any-return]
    if callable(source):
        return source
    raise TypeError("expected a callable url -> Path | None or an object with cached_path()")


def image_stem(job_id: str, index: int) -> str:
    return f"{safe_stem(job_id)}_{index}"


def default_export_dir(data_dir: Path, home: Path | None = None) -> Path:
    """~/Pictures/imagine-tui when ~/Pictures exists, else ``<data dir>/exports``."""
    home = Path.home() if home is None else home
    pictures = home / "Pictures"
    return pictures / "imagine-tui" if pictures.is_dir() else data_dir / "exports"


# -- saving one job -----------------------------------------------------------------------


@dataclass
class SavedJob:
    job: Job
    files: list[Path] = field(default_factory=list)  # the images written, in tile order
    missing: list[str] = field(default_factory=list)  # URLs that were not in the cache
    sidecar: Path | None = None


def sidecar_data(
    job: Job, lineage: Sequence[Job], files: Sequence[Path], missing: Sequence[str]
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "jobId": job.id,
        "kind": job.kind,
        "title": job.title,
        "label": job.label,
        "prompt": job.prompt,
        "state": str(job.state),
        "messageId": job.message_id,
        "buttonMessageId": job.button_message_id,
        "buttons": list(job.buttons),
        "parentId": job.parent_id,
        "lineage": [{"jobId": a.id, "title": a.title} for a in lineage],
        "imageUrl": job.image_url,
        "imageUrls": list(job.image_urls),
        "files": [p.name for p in files],
        "missing": list(missing),
        "favourite": job.favourite,
        "createdAt": job.created_at,
        "finishedAt": job.finished_at,
    }
    if job.options.get("seed") is not None:
        data["seed"] = str(job.options["seed"])
    for key in ("zoom", "ar", "prompts"):
        if job.options.get(key) is not None:
            data[key] = job.options[key]
    return data


def save_job_images(
    job: Job,
    images: ImageLookup | _HasCachedPath,
    dest: Path,
    tiles: Sequence[int] | None = None,
    *,
    lineage: Sequence[Job] = (),
) -> list[Path]:
    """:func:`save_job`, returning only the image paths."""
    return save_job(job, images, dest, tiles, lineage=lineage).files


def save_job(
    job: Job,
    images: ImageLookup | _HasCachedPath,
    dest: Path,
    tiles: Sequence[int] | None = None,
    *,
    lineage: Sequence[Job] = (),
) -> SavedJob:
    """Copy ``job``'s cached images into ``dest`` as ``<jobid>_<n>.<ext>`` plus ``<jobid>.json``.

    The one saving rule of the app and the CLI. ``tiles`` picks 1-based tiles of the
    job's grid (default: all of them). ``lineage`` is the jobs it came from, root first
    (see :func:`app.jobs.lineage.ancestors`).
    """
    return _save(job, as_lookup(images), dest, tiles, lineage)


def _save(
    job: Job,
    lookup: ImageLookup,
    dest: Path,
    tiles: Sequence[int] | None,
    lineage: Sequence[Job],
) -> SavedJob:
    private_dir(dest)
    urls = job.display_urls
    wanted = range(1, len(urls) + 1) if tiles is None else tiles
    saved = SavedJob(job)
    for index in wanted:
        if not 1 <= index <= len(urls):
            raise ValueError(f"job {job.id} has no tile {index}")
        url = urls[index - 1]
        src = lookup(url)
        if src is None or not src.is_file():
            saved.missing.append(url)
            continue
        saved.files.append(save_copy(src, dest, image_stem(job.id, index)))
    saved.sidecar = _write_text(
        dest / f"{safe_stem(job.id)}.json",
        json.dumps(
            sidecar_data(job, lineage, saved.files, saved.missing), ensure_ascii=False, indent=2
        ),
    )
    return saved


def _write_text(dest: Path, text: str) -> Path:
    data = text.encode("utf-8")

    def write(fp: IO[bytes]) -> None:
        fp.write(data)

    return write_atomic(dest, write)


# -- exporting a tree ---------------------------------------------------------------------


def export_tree(
    jobs: list[Job],
    root_id: str,
    image_path_for: Callable[[str], Path | None],
    dest: Path,
) -> Path:
    """Export ``root_id`` and all its descendants into the folder ``dest``.

    Writes each job's cached images and JSON sidecar, small thumbnails under ``thumbs/``,
    and ``index.html``, a contact sheet with the tree as nested lists. Returns the path of
    ``index.html``. Never downloads: images missing from the cache are listed as missing.
    """
    tree = descendants(jobs, root_id)
    if not tree:
        raise KeyError(root_id)
    by_id = {j.id: j for j in jobs}
    private_dir(dest)
    saved: list[tuple[SavedJob, int]] = []
    for job, depth in tree:
        result = _save(job, image_path_for, dest, None, ancestors(by_id, job))
        saved.append((result, depth))
    thumbs = {path: _thumbnail(path, dest / _THUMB_DIR) for s, _ in saved for path in s.files}
    index = dest / "index.html"
    return _write_text(index, _contact_sheet(saved, thumbs, by_id, dest))


def _thumbnail(src: Path, folder: Path) -> Path | None:
    """A small PNG beside the export for the contact sheet; None if Pillow cannot read it."""
    from PIL import Image

    try:
        private_dir(folder)
        with Image.open(src) as img:
            img.thumbnail((THUMB_SIDE, THUMB_SIDE))
            small = img.convert("RGB")
        dest = folder / f"{src.stem}.png"
        write_atomic(dest, lambda fp: small.save(fp, format="PNG"))
        return dest
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; background: #111; color: #ddd; }
h1 { font-size: 1.3em; }
ul { list-style: none; padding-left: 1.5em; border-left: 1px solid #444; }
li { margin: 1em 0; }
.title { font-weight: bold; color: #8cf; }
.state { color: #9a9; margin-left: .5em; }
.prompt { font-style: italic; }
.lineage, .meta { color: #888; font-size: .9em; }
.images img { margin: 4px; border: 1px solid #333; vertical-align: top; }
.missing { color: #e88; }
"""


def _href(path: Path, base: Path) -> str:
    # Relative, forward slashes, percent-free names (ids are sanitised): safe in an attribute.
    return html.escape(path.relative_to(base).as_posix(), quote=True)


def _contact_sheet(
    saved: list[tuple[SavedJob, int]],
    thumbs: dict[Path, Path | None],
    by_id: dict[str, Job],
    base: Path,
) -> str:
    e = html.escape
    root = saved[0][0].job
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # Nothing remote, no scripts: the page only shows the files beside it.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src 'self'; style-src 'unsafe-inline'\">",
        # U+2068..U+2069 isolate the prompt: a U+202E in it must not reverse the rest.
        f"<title>\u2068{e(_one_line(root.prompt, 80))}\u2069 · imagine-tui</title>",
        f"<style>{_STYLE}</style></head><body>",
        f'<h1 dir="auto">{e(root.prompt)}</h1>',
        f'<p class="meta">{len(saved)} jobs · exported by imagine-tui</p>',
    ]
    last = -1  # the depth of the item written last
    for result, depth in saved:
        if depth > last:
            out.append("<ul>" * (depth - last))  # depth-first order: one level at a time
        else:
            out.append("</li>" + "</ul></li>" * (last - depth))
        out.append(_job_item(result, thumbs, by_id, base))
        last = depth
    out.append("</li></ul>" * (last + 1))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _job_item(
    result: SavedJob, thumbs: dict[Path, Path | None], by_id: dict[str, Job], base: Path
) -> str:
    e = html.escape
    job = result.job
    parts = [
        f'<li id="job-{e(safe_stem(job.id), quote=True)}">',
        f'<span class="title">{_bdi(job.title)}</span>',
        f'<span class="state">{e(str(job.state))}</span>',
    ]
    lineage = ancestors(by_id, job)
    if lineage:
        trail = " → ".join(_bdi(t) for t in [*(a.title for a in lineage), job.title])
        parts.append(f'<div class="lineage">{trail}</div>')
    parts.append(f'<div class="prompt" dir="auto">{e(job.prompt)}</div>')
    meta = [f"job {e(job.id)}"]
    if job.message_id:
        meta.append(f"message {_bdi(job.message_id)}")
    if job.options.get("seed") is not None:
        meta.append(f"seed {_bdi(str(job.options['seed']))}")
    parts.append(f'<div class="meta">{" · ".join(meta)}</div>')
    images = []
    for path in result.files:
        thumb = thumbs.get(path) or path
        images.append(
            f'<a href="{_href(path, base)}"><img src="{_href(thumb, base)}" '
            f'alt="{e(path.name, quote=True)}" loading="lazy" '
            f'style="max-width:{THUMB_SIDE}px;max-height:{THUMB_SIDE}px"></a>'
        )
    if images:
        parts.append('<div class="images">' + "".join(images) + "</div>")
    for url in result.missing:
        parts.append(f'<div class="missing">missing (not in the local cache): {_bdi(url)}</div>')
    return "\n".join(parts)


def _bdi(text: str) -> str:
    """Text from a user or the server, isolated: bidi overrides in it (U+202E) cannot
    reorder the page around it."""
    return f"<bdi>{html.escape(text)}</bdi>"


def _one_line(text: str, width: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


# -- the system image viewer ----------------------------------------------------------------


def viewer_command(path: Path) -> list[str] | None:
    """The command that opens ``path`` in the desktop's viewer, or None if there is none."""
    system = platform.system()
    if system == "Darwin":
        opener = shutil.which("open")
    elif system == "Windows":
        return ["explorer", str(path)]
    else:
        # Without a display xdg-open falls back to text browsers that would fight the TUI
        # for the terminal: better to say where the file is.
        graphical = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        opener = shutil.which("xdg-open") if graphical else None
    return [opener, str(path)] if opener else None


def open_in_viewer(path: Path) -> bool:
    """Start the system viewer on ``path`` (detached, output dropped); False if none."""
    command = viewer_command(path)
    if command is None:
        return False
    try:
        proc = subprocess.Popen(  # a fixed program and a path we wrote, no shell
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        return False
    # Reap it whenever it exits, so no zombie is left behind.
    threading.Thread(target=proc.wait, name="viewer-reaper", daemon=True).start()
    return True
