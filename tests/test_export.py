"""app/export.py on real files: saved images, sidecars, the tree export, the viewer."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import IO

import pytest
from PIL import Image

from app import export
from app.export import default_export_dir, export_tree, save_job_images
from app.files import write_atomic
from app.jobs.lineage import Tree, ancestors, descendants, tree_root
from app.jobs.model import Job, JobState

EVIL = '<script>alert("x")</script> & [bold]markup[/bold]'


def _png(path: Path, colour: tuple[int, int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), colour).save(path, format="PNG")
    return path


def _grid(job_id: str, **kw: object) -> Job:
    urls = tuple(f"https://cdn.example/{job_id}/../../etc/passwd?{i}.png" for i in range(1, 5))
    fields: dict[str, object] = {
        "kind": "imagine",
        "prompt": EVIL,
        "state": JobState.DONE,
        "image_urls": urls,
        "image_url": f"https://cdn.example/{job_id}/grid.png",
        "message_id": f"msg-{job_id}",
        "button_message_id": f"btn-{job_id}",
        "buttons": ("U1", "V1"),
        **kw,
    }
    return Job(id=job_id, **fields)  # type: ignore[arg-type]


def _lookup(files: dict[str, Path]) -> export.ImageLookup:
    return files.get


def test_save_one_tile_names_from_job_id_and_writes_sidecar(tmp_path: Path) -> None:
    root = _grid("root1")
    files = {
        u: _png(tmp_path / "cache" / f"{i}.png", (i * 40, 0, 0))
        for i, u in enumerate(root.image_urls)
    }
    dest = tmp_path / "out"
    saved = save_job_images(root, _lookup(files), dest, tiles=[3])
    assert [p.name for p in saved] == ["root1_3.png"]
    assert saved[0].read_bytes() == files[root.image_urls[2]].read_bytes()
    meta = json.loads((dest / "root1.json").read_text())
    assert meta["prompt"] == EVIL
    assert meta["jobId"] == "root1"
    assert meta["messageId"] == "msg-root1"
    assert meta["buttonMessageId"] == "btn-root1"
    assert meta["buttons"] == ["U1", "V1"]
    assert meta["imageUrls"] == list(root.image_urls)
    assert meta["files"] == ["root1_3.png"]
    assert meta["lineage"] == []
    assert sorted(p.name for p in dest.iterdir()) == ["root1.json", "root1_3.png"]


def test_save_all_with_lineage_missing_and_hostile_id(tmp_path: Path) -> None:
    root = _grid("r")
    child = _grid("../../evil id", kind="button", label="V2", parent_id="r")
    files = {child.image_urls[0]: _png(tmp_path / "c" / "a.png", (0, 255, 0))}
    dest = tmp_path / "out"
    saved = save_job_images(child, _lookup(files), dest, lineage=ancestors({"r": root}, child))
    assert len(saved) == 1
    assert all(p.parent == dest for p in dest.rglob("*"))  # nothing escaped the folder
    sidecars = list(dest.glob("*.json"))
    assert len(sidecars) == 1
    meta = json.loads(sidecars[0].read_text())
    assert meta["lineage"] == [{"jobId": "r", "title": "imagine"}]
    assert meta["missing"] == list(child.image_urls[1:])


def test_save_accepts_a_pipeline_like_object(tmp_path: Path) -> None:
    job = _grid("p1")
    png = _png(tmp_path / "x.png", (1, 2, 3))

    class Pipeline:
        def cached_path(self, url: str) -> Path | None:
            return png

    assert len(save_job_images(job, Pipeline(), tmp_path / "o")) == 4
    with pytest.raises(ValueError):
        save_job_images(job, Pipeline(), tmp_path / "o", tiles=[5])


def _tree(tmp_path: Path) -> tuple[list[Job], dict[str, Path]]:
    root = _grid("root", created_at=1.0)
    v2 = _grid("v2", kind="button", label="V2", parent_id="root", created_at=2.0)
    u1 = _grid(
        "u1",
        kind="button",
        label="U1",
        parent_id="v2",
        created_at=3.0,
        image_urls=(),
        image_url="https://cdn.example/u1.png",
    )
    seal = _grid(
        "seal",
        kind="button",
        label="<b>✉️</b>",
        parent_id="u1",
        created_at=4.0,
        options={"seed": "1234"},
        image_urls=(),
        image_url="https://cdn.example/u1.png",
    )
    other = _grid("other", created_at=5.0)
    files: dict[str, Path] = {}
    for job in (root, v2, u1):
        for i, url in enumerate(job.display_urls):
            files[url] = _png(tmp_path / "cache" / f"{job.id}{i}.png", (i * 50, 100, 0))
    # v2's tile 4 was never downloaded
    del files[v2.display_urls[3]]
    return [other, seal, u1, v2, root], files


def test_lineage_helpers(tmp_path: Path) -> None:
    jobs, _ = _tree(tmp_path)
    assert tree_root(jobs, "seal") == "root"
    assert [(j.id, d) for j, d in descendants(jobs, "root")] == [
        ("root", 0),
        ("v2", 1),
        ("u1", 2),
        ("seal", 3),
    ]
    looped = [
        Job(id="a", kind="button", prompt="p", parent_id="b"),
        Job(id="b", kind="button", prompt="p", parent_id="a"),
    ]
    assert [j.id for j in ancestors({j.id: j for j in looped}, looped[0])] == ["b"]


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.srcs: list[str] = []
        self.hrefs: list[str] = []
        self.depth = 0
        self.max_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "img" and values.get("src"):
            self.srcs.append(str(values["src"]))
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))
        if tag == "ul":
            self.depth += 1
            self.max_depth = max(self.max_depth, self.depth)

    def handle_endtag(self, tag: str) -> None:
        if tag == "ul":
            self.depth -= 1


def test_export_tree_writes_a_safe_contact_sheet(tmp_path: Path) -> None:
    jobs, files = _tree(tmp_path)
    fetched: list[str] = []

    def lookup(url: str) -> Path | None:
        fetched.append(url)
        return files.get(url)

    dest = tmp_path / "export"
    index = export_tree(jobs, "root", lookup, dest)
    assert index == dest / "index.html"
    page = index.read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;b&gt;✉️&lt;/b&gt;" in page  # a server label, escaped
    assert "seed <bdi>1234</bdi>" in page
    assert "missing (not in the local cache)" in page
    assert "other" not in {p.stem.split("_")[0] for p in dest.glob("*.png")}
    parsed = _Collect()
    parsed.feed(page)
    assert parsed.depth == 0  # balanced lists
    assert parsed.max_depth == 4  # root > V2 > U1 > ✉️
    assert parsed.srcs and all(not s.startswith(("http", "/")) for s in parsed.srcs)
    for ref in parsed.srcs + parsed.hrefs:
        assert (dest / ref).is_file(), ref
    # images + sidecars for each job of the tree, thumbnails beside them
    assert {p.name for p in dest.glob("*.json")} == {"root.json", "v2.json", "u1.json", "seal.json"}
    assert len(list(dest.glob("v2_*.png"))) == 3
    assert len(list((dest / "thumbs").glob("*.png"))) == 4 + 3 + 1 + 1
    seal = json.loads((dest / "seal.json").read_text())
    assert seal["seed"] == "1234"
    assert [a["jobId"] for a in seal["lineage"]] == ["root", "v2", "u1"]
    with pytest.raises(KeyError):
        export_tree(jobs, "nope", lookup, tmp_path / "x")


def test_default_export_dir(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert default_export_dir(tmp_path / "data", home) == tmp_path / "data" / "exports"
    (home / "Pictures").mkdir()
    assert default_export_dir(tmp_path / "data", home) == home / "Pictures" / "imagine-tui"


def test_viewer_missing_and_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    png = _png(tmp_path / "a.png", (0, 0, 0))
    monkeypatch.setattr(platform, "system", lambda: "Linux")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert export.viewer_command(png) is None
    assert export.open_in_viewer(png) is False
    monkeypatch.delenv("DISPLAY")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    assert export.viewer_command(png) is None  # no display: xdg-open would grab the terminal
    monkeypatch.setenv("DISPLAY", ":0")
    assert export.viewer_command(png) == ["/usr/bin/xdg-open", str(png)]
    started: list[list[str]] = []

    class FakeProc:
        def __init__(self, args: list[str], **kwargs: object) -> None:
            started.append(args)
            assert kwargs.get("stdin") == subprocess.DEVNULL

        def wait(self) -> int:
            return 0

    monkeypatch.setattr(subprocess, "Popen", FakeProc)
    assert export.open_in_viewer(png) is True
    assert started == [["/usr/bin/xdg-open", str(png)]]
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    assert export.viewer_command(png) == ["/usr/bin/open", str(png)]


def test_export_works_without_textual() -> None:
    code = (
        "import sys, app.export\n"
        "print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lineage_tree_lists_orphans_as_roots_and_walks_depth_first() -> None:
    # "lost" points at a parent the history no longer has: it is listed once, as a root.
    tree = Tree([("a", None), ("a1", "a"), ("lost", "gone"), ("a2", "a"), ("a11", "a1")])
    assert tree.order() == ["a", "a1", "a11", "a2", "lost"]
    assert tree.order("a1") == ["a1", "a11"] and tree.order("nope") == []
    assert tree.roots() == ["a", "lost"] and tree.children("a") == ["a1", "a2"]
    assert tree.depth == {"a": 0, "a1": 1, "a11": 2, "a2": 1, "lost": 0}
    deep = Tree((str(i), str(i - 1) if i else None) for i in range(5000))
    assert len(deep.order()) == 5000  # no recursion limit on long chains of variations


def test_write_atomic_leaves_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    dest = write_atomic(tmp_path / "sub" / "a.json", b"old")
    assert dest.read_bytes() == b"old" and dest.stat().st_mode & 0o777 == 0o600

    def broken(fp: IO[bytes]) -> None:
        fp.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(dest, broken)
    assert dest.read_bytes() == b"old"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["a.json"]  # no temp left


def test_state_categories() -> None:
    assert {s for s in JobState if s.retryable} == {
        JobState.FAILED,
        JobState.STALLED,
        JobState.UNCERTAIN,
    }
    assert {s for s in JobState if s.finished} == {JobState.DONE, JobState.FAILED}
    # a stalled job is still polled; an uncertain one is neither running nor over
    assert JobState.STALLED.active and not JobState.UNCERTAIN.active
    assert not any(s.active and s.finished for s in JobState)
