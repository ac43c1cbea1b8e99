"""Bad answers from the service, each met with a clear message and nothing lost."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from demo_settings import demo_settings
from hostile import Hostile, Reply, json_reply, png_bytes, serve
from waiting import until

from app.jobs import ImagesReady, Job, JobChanged, JobEvent, JobState
from app.runtime import Backend, close_backend, open_backend

ESC_TEXT = "\x1b[31mred\x1b[0m \x1b]8;;http://evil\x07link\x1b]8;;\x07 \x07bell"


def submitted(mid: str = "m1") -> Reply:
    return json_reply({"success": True, "messageId": mid, "createdAt": "2026-01-01T00:00:00Z"})


def done_body(urls: list[str], buttons: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "progress": 100,
        "response": {
            "buttons": buttons or ["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"],
            "imageUrls": urls,
            "imageUrl": "",
            "type": "imagine",
            "content": "p",
            "buttonMessageId": "b1",
            **extra,
        },
    }


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    h = Hostile()
    stop = serve(h)
    try:
        yield h
    finally:
        stop()


@pytest.fixture
async def backend_for(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    opened: list[Backend] = []
    events: list[JobEvent] = []

    async def make(hostile: Hostile) -> tuple[Backend, list[JobEvent]]:
        settings = demo_settings(
            tmp_path / "data", base_url=hostile.url, rate_interval=0.0, timeout=2.0
        )
        backend = await open_backend(settings, events.append)
        opened.append(backend)
        return backend, events

    yield make
    for backend in opened:
        await close_backend(backend)


def state_of(backend: Backend, job: Job) -> JobState:
    found = backend.manager.get(job.id)
    assert found is not None, "a job was dropped from the history"
    return found.state


async def run_one(backend: Backend, prompt: str = "p") -> Job:
    job = backend.manager.submit_imagine(prompt)
    await until(
        lambda: state_of(backend, job) in (JobState.DONE, JobState.FAILED, JobState.UNCERTAIN)
    )
    result = backend.manager.get(job.id)
    assert result is not None
    return result


async def test_progress_going_backwards_is_never_shown(hostile: Hostile, backend_for: Any) -> None:
    hostile.on("/imagine", lambda p, b: submitted())
    hostile.sequence(
        "/message/m1",
        [
            json_reply({"progress": 62}),
            json_reply({"progress": 31}),
            json_reply({"progress": 15}),
            json_reply(done_body([])),
        ],
    )
    backend, events = await backend_for(hostile)
    job = await run_one(backend)
    seen = [e.job.progress for e in events if isinstance(e, JobChanged) and e.job.id == job.id]
    assert seen == sorted(seen) and job.state is JobState.DONE


@pytest.mark.parametrize("count", [0, 2, 6])
async def test_fewer_or_more_than_four_images(
    hostile: Hostile, backend_for: Any, count: int
) -> None:
    hostile.on("/imagine", lambda p, b: submitted())
    urls = [f"{hostile.url}/img/{i}.png" for i in range(count)]
    hostile.on("/message/m1", lambda p, b: json_reply(done_body(urls)))
    hostile.on("/img/*", lambda p, b: (200, {"Content-Type": "image/png"}, png_bytes()))
    backend, events = await backend_for(hostile)
    job = await run_one(backend)
    assert job.state is JobState.DONE
    assert len(job.display_urls) == min(count, 4)
    if count:
        await until(lambda: any(isinstance(e, ImagesReady) and e.job_id == job.id for e in events))
        assert all(backend.images.cached_path(u) for u in job.display_urls)
    assert sum(h.startswith("/img/") for h in hostile.hits) == min(count, 4)


async def test_non_http_image_urls_are_never_fetched(hostile: Hostile, backend_for: Any) -> None:
    urls = [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "ftp://127.0.0.1/x.png",
    ]
    hostile.on("/imagine", lambda p, b: submitted())
    hostile.on("/message/m1", lambda p, b: json_reply(done_body(urls)))
    backend, events = await backend_for(hostile)
    job = await run_one(backend)
    await until(lambda: any(isinstance(e, ImagesReady) for e in events))
    ready = next(e for e in events if isinstance(e, ImagesReady))
    assert len(ready.failures) == 4
    assert all("Only http and https" in f for f in ready.failures)
    assert job.state is JobState.DONE  # the job itself is kept, with its reasons


def _bomb() -> bytes:
    """A valid PNG header claiming 30000 x 30000 pixels, a few hundred bytes on disk."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 100))
        + chunk(b"IEND", b"")
    )


def _endless() -> Iterator[bytes]:
    block = b"\0" * 65536
    for _ in range(1600):  # 100 MB, bounded
        yield block


BAD_IMAGES: dict[str, tuple[Callable[[], Reply], str]] = {
    "empty": (lambda: (200, {"Content-Type": "image/png"}, b""), "empty"),
    "truncated": (lambda: (200, {"Content-Type": "image/png"}, png_bytes(256)[:200]), "damaged"),
    "html": (
        lambda: (200, {"Content-Type": "image/png"}, b"<html><body>hi</body></html>"),
        "not a picture",
    ),
    "huge": (lambda: (200, {"Content-Type": "image/png"}, _endless()), "larger than"),
    "bomb": (lambda: (200, {"Content-Type": "image/png"}, _bomb()), "too large to decode"),
    "redirect loop": (lambda: (302, {"Location": "/img/loop.png"}, b""), "redirected too many"),
    "404": (lambda: (404, {}, b"nope"), "HTTP 404"),
}


@pytest.mark.parametrize("case", list(BAD_IMAGES))
async def test_bad_images_fail_with_a_reason(hostile: Hostile, backend_for: Any, case: str) -> None:
    make, expected = BAD_IMAGES[case]
    hostile.on("/imagine", lambda p, b: submitted())
    urls = [f"{hostile.url}/img/loop.png"] + [f"{hostile.url}/ok/{i}.png" for i in range(3)]
    hostile.on("/message/m1", lambda p, b: json_reply(done_body(urls)))
    hostile.on("/img/loop.png", lambda p, b: make())
    hostile.on("/ok/*", lambda p, b: (200, {"Content-Type": "image/png"}, png_bytes()))
    backend, events = await backend_for(hostile)
    await run_one(backend)
    await until(lambda: any(isinstance(e, ImagesReady) for e in events), 20)
    ready = next(e for e in events if isinstance(e, ImagesReady))
    assert len(ready.failures) == 1 and expected in ready.failures[0], ready.failures
    assert backend.images.cached_path(urls[0]) is None  # nothing half-written is kept
    assert all(backend.images.cached_path(u) for u in urls[1:])


@pytest.mark.parametrize(
    ("reply", "expect"),
    [
        (
            (200, {"Content-Type": "text/html"}, b"<html><h1>Welcome to nginx</h1></html>"),
            "an HTML page",
        ),
        ((200, {}, b"{not json"), "not JSON"),
        (json_reply({"success": True, "messageId": ["a", "b"]}), "expected a string"),
        (json_reply([1, 2, 3]), "expected a JSON object"),
    ],
)
async def test_garbled_answers_to_a_submission_make_it_uncertain(
    hostile: Hostile, backend_for: Any, reply: Reply, expect: str
) -> None:
    hostile.on("/imagine", lambda p, b: reply)
    backend, _ = await backend_for(hostile)
    job = await run_one(backend)
    assert job.state is JobState.UNCERTAIN and expect in (job.error or "")
    assert "not resent" in (job.error or "")
    assert hostile.hits.count("/imagine") == 1  # never sent twice on its own


async def test_garbled_polls_show_on_the_row_and_recover(
    hostile: Hostile, backend_for: Any
) -> None:
    hostile.on("/imagine", lambda p, b: submitted())
    hostile.sequence(
        "/message/m1",
        [
            (200, {}, b"<html>oops</html>"),
            json_reply({"progress": "x"}),
            json_reply({"progress": 50}),
            json_reply(done_body([])),
        ],
    )
    backend, events = await backend_for(hostile)
    job = await run_one(backend)
    errors = [e.job.error for e in events if isinstance(e, JobChanged) and e.job.error]
    assert any("Checking on it failed" in e and "Still trying" in e for e in errors)
    assert job.state is JobState.DONE and job.error is None


async def test_server_text_with_escapes_and_markup_is_cleaned(
    hostile: Hostile, backend_for: Any
) -> None:
    label = f"Frob [bold]{ESC_TEXT}[/]"
    hostile.on("/imagine", lambda p, b: submitted())
    hostile.on("/message/m1", lambda p, b: json_reply(done_body([], buttons=[label, "Web"])))
    hostile.on("/button", lambda p, b: submitted("m2"))
    hostile.on(
        "/message/m2",
        lambda p, b: json_reply(
            {"progress": "incomplete", "response": {"content": f"WEIRD_CODE {ESC_TEXT}"}}
        ),
    )
    backend, events = await backend_for(hostile)
    job = await run_one(backend)
    assert job.buttons == (label,)  # kept exactly, to be sent back exactly; Web hidden
    child = backend.manager.press(job.id, label)
    await until(lambda: state_of(backend, child) is JobState.FAILED)
    failed = backend.manager.get(child.id)
    assert failed is not None
    assert "\x1b" not in failed.title and "\x07" not in failed.title and "Frob" in failed.title
    assert failed.error and "\x1b" not in failed.error and "\x07" not in failed.error
    notices = [e.text for e in events if hasattr(e, "text")]
    assert notices and all("\x1b" not in n for n in notices)


async def test_unknown_button_label_from_the_server_fails_cleanly(
    hostile: Hostile, backend_for: Any
) -> None:
    hostile.on("/imagine", lambda p, b: submitted())
    hostile.on("/message/m1", lambda p, b: json_reply(done_body([], buttons=["Zap ⚡"])))
    hostile.on("/button", lambda p, b: submitted("m2"))
    hostile.on(
        "/message/m2",
        lambda p, b: json_reply({"progress": 100, "response": {"content": "BUTTON_NOT_FOUND"}}),
    )
    backend, _ = await backend_for(hostile)
    job = await run_one(backend)
    child = backend.manager.press(job.id, "Zap ⚡")
    await until(lambda: state_of(backend, child) is JobState.FAILED)
    assert "does not offer that button" in (backend.manager.get(child.id).error or "")  # type: ignore[union-attr]


async def test_a_10000_character_prompt_is_refused_with_its_length(
    hostile: Hostile, backend_for: Any
) -> None:
    from app.jobs import PromptError

    backend, _ = await backend_for(hostile)
    with pytest.raises(PromptError, match="10,000 characters"):
        backend.manager.submit_imagine("x" * 10_000)
    assert backend.manager.jobs() == [] and hostile.hits == []


async def test_prompts_are_sent_without_control_characters(
    hostile: Hostile, backend_for: Any
) -> None:
    bodies: list[bytes] = []

    def capture(path: str, body: bytes) -> Reply:
        bodies.append(body)
        return submitted()

    hostile.on("/imagine", capture)
    hostile.on("/message/m1", lambda p, b: json_reply(done_body([])))
    backend, _ = await backend_for(hostile)
    job = await run_one(backend, f"a cat 🐈 猫 кот {ESC_TEXT}\nsecond line")
    import json as _json

    sent = _json.loads(bodies[0])["msg"]
    assert "\x1b" not in sent and "\x07" not in sent and "\n" not in sent
    assert sent.startswith("a cat 🐈 猫 кот red") and job.prompt == sent


async def test_a_passing_image_hiccup_is_retried(hostile: Hostile, backend_for: Any) -> None:
    hostile.on("/imagine", lambda p, b: submitted())
    urls = [f"{hostile.url}/img/{i}.png" for i in range(4)]
    hostile.on("/message/m1", lambda p, b: json_reply(done_body(urls)))
    hostile.sequence("/img/0.png", [(503, {}, b"busy"), (200, {}, png_bytes())])
    hostile.on("/img/*", lambda p, b: (200, {"Content-Type": "image/png"}, png_bytes()))
    backend, events = await backend_for(hostile)
    await run_one(backend)
    await until(lambda: any(isinstance(e, ImagesReady) for e in events), 10)
    ready = next(e for e in events if isinstance(e, ImagesReady))
    assert ready.failures == () and all(backend.images.cached_path(u) for u in urls)
    assert hostile.hits.count("/img/0.png") == 2


# -- issue 14: answers that used to crash, hang, or be resent ---------------------------

DEEP = b"[" * 200_000 + b"]" * 200_000


@pytest.mark.parametrize(
    ("body", "expect"),
    [
        (DEEP, "nested too deeply"),
        (b'{"success": true, "messageId": Infinity}', "not JSON"),
    ],
    ids=["200k deep", "Infinity"],
)
async def test_an_unreadable_submit_answer_makes_the_job_uncertain(
    hostile: Hostile, backend_for: Any, body: bytes, expect: str
) -> None:
    hostile.on("/imagine", lambda p, b: (200, {}, body))
    backend, _ = await backend_for(hostile)
    job = await run_one(backend)
    assert job.state is JobState.UNCERTAIN and expect in (job.error or "")
    assert hostile.hits.count("/imagine") == 1


@pytest.mark.parametrize(
    ("body", "expect"),
    [
        (DEEP, "nested too deeply"),
        (b'{"progress": 1e400}', "expected 0 to 100"),
        (b'{"progress": "1e400"}', "expected 0 to 100"),
        (b'{"progress": Infinity}', "not JSON"),
    ],
    ids=["200k deep", "1e400", "'1e400'", "Infinity"],
)
async def test_unreadable_polls_end_as_stalled_with_a_sentence(
    hostile: Hostile, backend_for: Any, body: bytes, expect: str
) -> None:
    hostile.on("/imagine", lambda p, b: submitted())
    hostile.on("/message/m1", lambda p, b: (200, {}, body))
    backend, _ = await backend_for(hostile)
    job = backend.manager.submit_imagine("p")
    await until(lambda: state_of(backend, job) is JobState.STALLED, 15)
    stalled = backend.manager.get(job.id)
    assert stalled is not None and expect in (stalled.error or "")
    assert "Checking on it failed (3×)" in (stalled.error or "")


async def test_an_answer_trickled_a_byte_at_a_time_times_out(hostile: Hostile) -> None:
    import time

    from app.api import ApiTimeout, ImagineClient

    def trickle() -> Iterator[bytes]:
        for byte in b'{"progress": 50}':  # 16 bytes at 0.25 s: never a 1 s gap between reads
            time.sleep(0.25)
            yield bytes([byte])

    hostile.on("/message/m1", lambda p, b: (200, {"Content-Type": "application/json"}, trickle()))
    async with ImagineClient(hostile.url, timeout=1.0) as client:
        with pytest.raises(ApiTimeout, match=r"did not finish answering within 1 s"):
            await client.message("m1")


async def test_a_huge_answer_is_not_read_past_the_cap(hostile: Hostile) -> None:
    from app.api import BadResponse, ImagineClient

    hostile.on("/message/m1", lambda p, b: (200, {"Content-Type": "application/json"}, _endless()))
    hostile.on(
        "/message/m2",
        lambda p, b: (200, {"Content-Length": str(2**31)}, iter([b"{}"])),  # a 2 GB claim
    )
    async with ImagineClient(hostile.url) as client:
        for mid in ("m1", "m2"):
            with pytest.raises(BadResponse, match="larger than 4 MB"):
                await client.message(mid)


async def test_an_endless_retry_after_is_capped_and_said(
    hostile: Hostile, backend_for: Any
) -> None:
    from app.api import ImagineClient, RateLimited

    hostile.on("/imagine", lambda p, b: (429, {"Retry-After": "99999999"}, b"slow down"))
    async with ImagineClient(hostile.url) as client:
        with pytest.raises(RateLimited) as err:
            await client.imagine("p")
    assert err.value.retry_after == 300
    assert "asked for a 99999999 s pause; waiting 300 s instead" in err.value.human
    backend, _ = await backend_for(hostile)
    job = backend.manager.submit_imagine("p")
    await until(lambda: "waiting 300 s instead" in (backend.manager.get(job.id).error or ""))  # type: ignore[union-attr]
    assert state_of(backend, job) is JobState.QUEUED  # waiting, not failed, not resent yet


async def test_a_redirected_submission_is_uncertain_not_resent(
    hostile: Hostile, backend_for: Any
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{s.getsockname()[1]}/imagine"
    hostile.on("/imagine", lambda p, b: (307, {"Location": nowhere}, b""))
    backend, _ = await backend_for(hostile)
    job = await run_one(backend)
    assert job.state is JobState.UNCERTAIN
    assert "redirected" in (job.error or "") and "not resent" in (job.error or "")
    assert hostile.hits.count("/imagine") == 1


async def test_a_zero_timeout_is_refused_as_a_setting_not_blamed_on_the_service() -> None:
    from app.api import ImagineClient

    for bad in (0.0, -5.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
            ImagineClient("http://127.0.0.1:9", timeout=bad)


def _cli(*args: str | bytes, data: Path) -> Any:
    import os
    import subprocess
    import sys

    env = {**os.environ, "XDG_CONFIG_HOME": str(data / "cfg"), "IMAGINE_DATA_DIR": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, timeout=120
    )


@pytest.mark.parametrize(
    ("prompt", "expect"),
    [
        (b"caf\xe9 au lait", b"not UTF-8 text"),  # Latin-1 bytes in argv
        ("\u200b\u200d\u2060\ufeff".encode(), b"empty prompt is not sent"),
    ],
    ids=["latin-1 bytes", "zero-width only"],
)
def test_a_prompt_that_is_not_text_is_refused_before_sending(
    tmp_path: Path, prompt: bytes, expect: bytes
) -> None:
    out = _cli("imagine", prompt, "--speed", "120", data=tmp_path)
    assert out.returncode == 2, out.stderr
    assert expect in out.stderr and b"Traceback" not in out.stderr
    assert b"simulator" not in out.stderr  # refused before anything was started or sent


def _cli_on(hostile: Hostile, data: Path, *args: str | bytes) -> Any:
    return _cli(*args, "--base-url", hostile.url, "--rate-interval", "0", data=data)


@pytest.mark.parametrize("case", ["a file", "inside a file"])
def test_an_unusable_out_is_refused_before_anything_is_sent(
    hostile: Hostile, tmp_path: Path, case: str
) -> None:
    hostile.on("/imagine", lambda p, b: submitted())
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    out = blocker if case == "a file" else blocker / "sub"
    done = _cli_on(hostile, tmp_path / "data", "imagine", "p", "--wait", "--out", str(out))
    assert done.returncode == 2 and b"nothing was sent" in done.stderr, done.stderr
    assert b"Traceback" not in done.stderr and hostile.hits == []


def test_a_label_that_is_not_text_is_refused_before_sending(
    hostile: Hostile, tmp_path: Path
) -> None:
    done = _cli_on(hostile, tmp_path / "data", "button", b"U\xff", "--message", "m1")
    assert done.returncode == 2 and b"not UTF-8 text" in done.stderr, done.stderr
    assert b"Traceback" not in done.stderr and hostile.hits == []


def test_a_partial_save_exits_non_zero_and_names_the_missing_images(
    hostile: Hostile, tmp_path: Path
) -> None:
    urls = [
        f"{hostile.url}/img/1.png",
        "javascript:alert(1)",
        "file:///etc/passwd",
        f"{hostile.url}/img/broken.png",
    ]
    hostile.on("/imagine", lambda p, b: submitted())
    hostile.on("/message/m1", lambda p, b: json_reply(done_body(urls)))
    hostile.on("/img/1.png", lambda p, b: (200, {"Content-Type": "image/png"}, png_bytes()))
    hostile.on("/img/broken.png", lambda p, b: (200, {}, png_bytes()[:90]))
    out = tmp_path / "out"
    done = _cli_on(hostile, tmp_path / "data", "imagine", "p", "--wait", "--out", str(out))
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert "saved 1 of 4 images" in err
    for n in (2, 3, 4):
        assert f"image {n} of 4 not saved" in err
    assert "image 1 of 4 not saved" not in err and len(list(out.glob("*.png"))) == 1


def test_a_damaged_cache_file_is_fetched_again_not_copied(hostile: Hostile, tmp_path: Path) -> None:
    from app.images import cache

    urls = [f"{hostile.url}/img/{i}.png" for i in range(1, 5)]
    hostile.on("/imagine", lambda p, b: submitted())
    hostile.on("/message/m1", lambda p, b: json_reply(done_body(urls)))
    hostile.on("/img/*", lambda p, b: (200, {"Content-Type": "image/png"}, png_bytes()))
    data = tmp_path / "data"
    damaged = cache.full_path(data / "images", urls[0], "PNG")
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(png_bytes()[:100])  # a complete name, an incomplete file
    out = tmp_path / "out"
    done = _cli_on(hostile, data, "imagine", "p", "--wait", "--out", str(out))
    assert done.returncode == 0, done.stderr
    from PIL import Image

    for path in sorted(out.glob("*.png")):
        with Image.open(path) as im:
            im.load()  # every copy is a whole picture
    assert len(list(out.glob("*.png"))) == 4 and hostile.hits.count("/img/1.png") == 1


def test_a_zero_timeout_is_reported_as_the_setting(hostile: Hostile, tmp_path: Path) -> None:
    config = tmp_path / "data" / "cfg" / "imagine-tui" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("timeout = 0\n")
    done = _cli_on(hostile, tmp_path / "data", "imagine", "p", "--wait")
    err = done.stderr.decode()
    assert done.returncode == 2 and "timeout" in err, err
    assert "did not answer" not in err and hostile.hits == []


def test_a_negative_expiry_never_gives_up_without_asking(hostile: Hostile, tmp_path: Path) -> None:
    hostile.on("/imagine", lambda p, b: submitted())
    hostile.on("/message/m1", lambda p, b: json_reply(done_body([])))
    done = _cli_on(hostile, tmp_path / "data", "imagine", "p", "--wait", "--expire-mins", "-3")
    err = done.stderr.decode()
    assert "gave up waiting" not in err and "Traceback" not in err
    refused = done.returncode == 2 and "expire" in err  # the setting is refused up front
    asked = done.returncode == 0 and "/message/m1" in hostile.hits
    assert refused or asked, err


def test_a_full_disk_while_saving_names_the_images_and_exits_non_zero(
    hostile: Hostile, tmp_path: Path
) -> None:
    import io
    import os
    import resource
    import signal
    import subprocess
    import sys

    from PIL import Image

    from app.jobs.store import JobStore

    buf = io.BytesIO()
    Image.frombytes("RGB", (400, 400), os.urandom(400 * 400 * 3)).save(buf, "PNG")
    noisy = buf.getvalue()  # ~480 KB: more than the disk has left
    urls = [f"{hostile.url}/img/{i}.png" for i in range(1, 5)]
    hostile.on("/imagine", lambda p, b: submitted())
    hostile.on("/message/m1", lambda p, b: json_reply(done_body(urls)))
    hostile.on("/img/*", lambda p, b: (200, {"Content-Type": "image/png"}, noisy))
    data = tmp_path / "data"
    JobStore(data / "history.sqlite3").close()
    limit = 256 * 1024  # room for the history, not for one image

    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "XDG_CONFIG_HOME": str(data / "cfg"), "IMAGINE_DATA_DIR": str(data)}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "app", "imagine", "p", "--wait"),
            *("--out", str(tmp_path / "out"), "--base-url", hostile.url, "--rate-interval", "0"),
        ],
        env=env,
        capture_output=True,
        timeout=120,
        preexec_fn=full_disk,
    )
    err = done.stderr.decode()
    assert done.returncode == 1 and "Traceback" not in err, err
    assert all(f"image {n} of 4 not saved" in err for n in range(1, 5))
    assert "could not be written to the cache: File too large" in err
    assert "saved 0 of 4 images" in err and "unknown reason" not in err
