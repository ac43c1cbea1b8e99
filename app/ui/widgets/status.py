"""The status line: which backend, jobs in flight, rate budget, connection."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static


@dataclass(frozen=True)
class StatusInfo:
    backend: str = "starting…"
    demo: bool = False
    in_flight: int = 0
    holding: int = 0
    online: bool = True
    offline_reason: str = ""
    total: int = 0
    view: str = ""  # the job list's filter / search, in words ('' when all are shown)
    shown: int = 0


def status_text(info: StatusInfo) -> Text:
    text = Text()
    if info.demo:
        text.append(" demo: built-in simulator ", style="bold black on yellow")
    else:
        text.append(f" {info.backend} ", style="bold reverse")
    sep = ("  │  ", "dim")
    text.append(*sep)
    text.append(f"{info.total} job{'' if info.total == 1 else 's'}", style="")
    if info.view:
        text.append(f" · showing {info.shown} ", style="bold")
        text.append(info.view, style="bold yellow")  # a Text: the search words stay literal
    text.append(*sep)
    text.append(f"{info.in_flight} in flight", style="bold cyan" if info.in_flight else "dim")
    if info.holding:
        text.append(*sep)
        text.append(f"rate budget holding {info.holding} requests", style="yellow")
    text.append(*sep)
    if info.online:
        text.append("● online", style="green")
    else:
        text.append("● offline", style="bold red")
        if info.offline_reason:
            text.append(f": {info.offline_reason}", style="red")
    return text


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        background: $panel;
        padding: 0 1;
    }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self._info = StatusInfo()

    def on_mount(self) -> None:
        self.update(status_text(self._info))

    def set_info(self, info: StatusInfo) -> None:
        if info != self._info:
            self._info = info
            self.update(status_text(info), layout=False)  # always one line (app.tcss)
