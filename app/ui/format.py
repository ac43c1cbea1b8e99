"""How a job looks in words and colours: pure functions, no widgets, easy to test."""

from __future__ import annotations

from rich.text import Text

from app.jobs.model import Job, JobState
from app.text import button_text, clean_text, shorten

STATE_STYLE = {
    JobState.QUEUED: "dim",
    JobState.SUBMITTED: "cyan",
    JobState.RUNNING: "bold cyan",
    JobState.DONE: "green",
    JobState.FAILED: "bold red",
    JobState.STALLED: "yellow",
    JobState.UNCERTAIN: "magenta",
}

_BAR_CELLS = 6

BLOCKED_CODES = frozenset({"blocked", "BANNED_PROMPT", "IMAGE_BLOCKED"})  # the words, not luck

# A few words per failure kind: the row is narrow, the detail pane has the full sentence.
_SHORT_REASONS = {
    "auth": "token rejected",
    "blocked": "prompt blocked",
    "bad_request": "refused",
    "rate_limited": "rate limited",
    "server": "server error",
    "bad_response": "bad answer",
    "network": "offline",
    "timeout": "timed out",
    "incomplete": "incomplete",
    "BANNED_PROMPT": "prompt blocked",  # refused at submit or failed later: the same
    "IMAGE_BLOCKED": "image blocked",
    "ALREADY_REQUESTED_UPSCALE": "already upscaled",
    "BUTTON_NOT_FOUND": "no such button",
    "INTERNAL_ERROR": "server error",
}


def short_reason(job: Job) -> str:
    code = job.error_code or ""
    if code in _SHORT_REASONS:
        return _SHORT_REASONS[code]
    if code:
        return code.lower().replace("_", " ")
    words = clean_text(job.error or "unknown reason", single_line=True).split()
    return " ".join(words[:4])


def progress_bar(percent: int, cells: int = _BAR_CELLS) -> str:
    """A bar of eighth-blocks: finer than whole cells, still one line."""
    percent = max(0, min(100, percent))
    eighths = round(percent * cells * 8 / 100)
    full, part = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[part].strip() if full < cells else ""
    return ("█" * full + partial).ljust(cells, "·")


def state_text(job: Job, width: int = 22) -> Text:
    """queued · submitted · running ███▌·· 42% · ✓ done · failed: reason · stalled · uncertain."""
    style = STATE_STYLE.get(job.state, "")
    if job.state in (JobState.RUNNING, JobState.STALLED):
        word = "running" if job.state is JobState.RUNNING else "stalled"
        text = Text(f"{word} ", style=style)
        text.append(progress_bar(job.progress), style="cyan" if word == "running" else "yellow")
        text.append(f" {job.progress:>3}%", style=style)
        return text
    if job.state is JobState.DONE:
        return Text("✓ done", style=style)
    if job.state is JobState.FAILED:
        return Text(shorten(f"failed: {short_reason(job)}", width), style=style)
    if job.state is JobState.UNCERTAIN:
        return Text("? uncertain", style=style)
    return Text(job.state.value, style=style)


def shown_title(job: Job) -> str:
    """The job's title for the terminal (see :func:`button_text`; exports keep U+FE0F)."""
    return button_text(job.title)


def tree_prefix(last: list[bool]) -> str:
    """The tree lines before a row: ``last`` says, from the top level down to the row
    itself, whether each is the last child of its parent. '' for a root."""
    if not last:
        return ""
    lines = "".join("  " if done else "│ " for done in last[:-1])
    return lines + ("└ " if last[-1] else "├ ")


def title_text(job: Job, prefix: str = "") -> Text:
    """The tree lines, ★ (before the title: a narrow cell cuts the title, not the star),
    then the button label, or for an original prompt the prompt's start."""
    text = Text(prefix, style="dim")
    if job.favourite:
        text.append("★ ", style="yellow")
    if job.kind == "imagine":
        text.append(clean_text(job.prompt, single_line=True) or shown_title(job), style="bold")
    else:
        text.append(shown_title(job))
    return text


def prompt_text(job: Job, width: int) -> Text:
    # Text(), never a str: prompts must not be parsed as markup.
    return Text(shorten(job.prompt, width), style="dim" if job.kind == "button" else "")


def elapsed_text(seconds: float | None) -> Text:
    if seconds is None:
        return Text("")
    s = int(seconds)
    if s < 60:
        out = f"{s}s"
    elif s < 3600:
        out = f"{s // 60}m{s % 60:02d}"
    else:
        out = f"{s // 3600}h{s % 3600 // 60:02d}"
    return Text(out, style="dim", justify="right")


_PANS = {"⬅": "left", "➡": "right", "⬆": "up", "⬇": "down"}


def describe_button(label: str) -> tuple[str, str]:
    """A button's name and one line on what it does: emoji alone can't be searched for."""
    tile = label[1:] if len(label) == 2 and label[0] in "UV" and label[1] in "1234" else ""
    if tile and label[0] == "U":
        return f"Upscale {tile}", f"a larger image of tile {tile}"
    if tile:
        return f"Vary {tile}", f"four variations of tile {tile}"
    first = label[:1]
    if label == "🔄":
        return "Reroll", "four new images from the same prompt"
    if first in _PANS:
        return f"Pan {_PANS[first]}", f"extend the image {_PANS[first]}wards"
    if first == "❤":
        return "Like", "mark the image as liked on the service"
    if first == "✉":
        return "Envelope", "ask the service for the job's details (its seed)"
    if "Zoom" in label:
        return label, "widen the canvas around the image"
    if "Vary" in label:
        return label, "variations of this image"
    if "Upscale" in label:
        return label, "upscale this image again"
    return label, "press it on the selected job"
