"""The simulator's jobs in a JSON file, so a restarted demo app still knows its old jobs.

Format: ``{"version": 1, "jobs": [record, ...]}``, one record per :class:`SimJob`.
``time.monotonic()`` means nothing in another process, so a record keeps its job's
wall-clock creation time (``created_at``, Unix seconds) and how long after that it
finished (``finished_after``); loading maps them back onto this process's monotonic
clock. A job that was running therefore goes on as if the simulator had never
stopped: done once its time has passed. Pictures are not stored: they are drawn
again, identically, from the stored scenes.

Unknown keys are ignored. An unreadable file, or one of another version, is logged
and the simulator starts empty; a single bad record is logged and skipped.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.files import write_atomic
from app.simulator.jobs import SimJob
from app.simulator.landscape import ELEMENTS, TIMES, Scene, View

VERSION = 1
KINDS = ("imagine", "button", "describe", "blend")
STATUSES = ("running", "done", "failed", "incomplete")

log = logging.getLogger(__name__)


class BadRecord(ValueError):
    """A record that is not what this version writes."""


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._write_failed = False  # warn once, not on every job
        # Each job's JSON, by message id, with the fields that can still change: only new
        # or changed jobs are encoded again (thousands of jobs take ~70 ms to encode).
        self._json: dict[str, tuple[tuple[object, ...], str]] = {}

    def load(self) -> list[SimJob]:
        """The saved jobs; none when there is no file or it cannot be read."""
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:  # ValueError: bad JSON or bad UTF-8
            log.warning("Simulator state %s is unreadable, starting empty: %s", self.path, exc)
            return []
        if not isinstance(data, dict) or data.get("version") != VERSION:
            log.warning("Simulator state %s is not version %d, starting empty", self.path, VERSION)
            return []
        records = data.get("jobs")
        if not isinstance(records, list):
            log.warning("Simulator state %s has no job list, starting empty", self.path)
            return []
        mono, wall = time.monotonic(), time.time()
        jobs = []
        for record in records:
            try:
                jobs.append(decode(record, mono, wall))
            except (ValueError, OverflowError, OSError) as exc:  # also absurd timestamps
                log.warning("Simulator state %s: skipping a bad job: %s", self.path, exc)
        return jobs

    def save(self, jobs: Iterable[SimJob]) -> None:
        """Replace the file with ``jobs`` (one caller at a time); a failure is logged, the
        API keeps working."""
        try:
            parts = ",".join(self._encoded(job) for job in jobs)
            write_atomic(self.path, f'{{"version":{VERSION},"jobs":[{parts}]}}'.encode())
        except (OSError, ValueError) as exc:  # raised here, it would end the clock thread
            if not self._write_failed:
                log.warning("Cannot save simulator state to %s: %s", self.path, exc)
            self._write_failed = True
        else:
            self._write_failed = False

    def _encoded(self, job: SimJob) -> str:
        mutable = (job.status, job.finished, job.presses, len(job.pressed))
        cached = self._json.get(job.message_id)
        if cached is None or cached[0] != mutable:
            # ASCII: a prompt's lone surrogate (valid in JSON) cannot break the encoding.
            text = json.dumps(encode(job), separators=(",", ":"))
            cached = self._json[job.message_id] = (mutable, text)
        return cached[1]


# -- records ---------------------------------------------------------------------------


def encode(job: SimJob) -> dict[str, Any]:
    finished_after = None if job.finished is None else job.finished - job.created
    return {
        "message_id": job.message_id,
        "kind": job.kind,
        "prompt": job.prompt,
        "label": job.label,
        "parent_message_id": job.parent_message_id,
        "button_message_id": job.button_message_id,
        "ref": job.ref,
        "created_at": job.created_wall.timestamp(),
        "gen_seconds": job.gen_seconds,
        "finished_after": finished_after,
        "status": job.status,
        "failure_code": job.failure_code,
        "webhook": job.webhook,
        "scenes": [_encode_scene(s) for s in job.scenes],
        "single": job.single,
        "long_side": job.long_side,
        "buttons": list(job.buttons),
        "image_owner": job.image_owner,
        "seed_value": job.seed_value,
        "stall": job.stall,
        "gen_seed": job.gen_seed,
        "describe": None if job.describe is None else list(job.describe),
        "pressed": sorted(job.pressed),
        "presses": job.presses,
    }


def decode(record: object, mono_now: float, wall_now: float) -> SimJob:
    """A job from ``record``, its times moved onto the monotonic clock read as ``mono_now``."""
    if not isinstance(record, dict):
        raise BadRecord("not an object")
    created_at = _num(record, "created_at")
    created = mono_now - (wall_now - created_at)
    finished_after = _opt_num(record, "finished_after")
    kind, status = _str(record, "kind"), _str(record, "status")
    if kind not in KINDS or status not in STATUSES:
        raise BadRecord(f"unknown kind {kind!r} or status {status!r}")
    single = _bool(record, "single", False)
    scenes = record.get("scenes", [])
    if not isinstance(scenes, list) or (scenes and len(scenes) != (1 if single else 4)):
        raise BadRecord("scenes must be a list of 1 (single) or 4 (grid) scenes")
    message_id = _str(record, "message_id")
    describe = record.get("describe")
    return SimJob(
        message_id=message_id,
        kind=kind,
        prompt=_str(record, "prompt"),
        label=_opt_str(record, "label"),
        parent_message_id=_opt_str(record, "parent_message_id"),
        button_message_id=_str(record, "button_message_id"),
        ref=_opt_str(record, "ref"),
        created=created,
        gen_seconds=_num(record, "gen_seconds"),
        finished=None if finished_after is None else created + finished_after,
        status=status,
        failure_code=_opt_str(record, "failure_code"),
        created_wall=datetime.fromtimestamp(created_at, UTC),
        webhook=_opt_str(record, "webhook"),
        scenes=tuple(_decode_scene(s) for s in scenes),
        single=single,
        long_side=_int(record, "long_side", 0),
        buttons=_strs(record, "buttons"),
        image_owner=_str(record, "image_owner", message_id),
        seed_value=_opt_str(record, "seed_value"),
        stall=_bool(record, "stall", False),
        gen_seed=_int(record, "gen_seed", 0),
        describe=None if describe is None else _strs(record, "describe"),
        pressed=set(_strs(record, "pressed")),
        presses=_int(record, "presses", 0),
    )


def _encode_scene(scene: Scene) -> dict[str, Any]:
    record = {f.name: getattr(scene, f.name) for f in fields(Scene) if f.name != "view"}
    record["view"] = {f.name: getattr(scene.view, f.name) for f in fields(View)}
    return record  # tuples become JSON lists; json keeps floats exact (repr round-trips)


def _decode_scene(record: object) -> Scene:
    if not isinstance(record, dict) or not isinstance(record.get("view"), dict):
        raise BadRecord("a scene is not an object with a view")
    time_name = _str(record, "time")
    heights, amps = _nums(record, "heights"), _nums(record, "amps")
    if time_name not in TIMES or not heights or len(heights) != len(amps):
        raise BadRecord("a scene has an unknown time or mismatched ridge layers")
    v = record["view"]
    return Scene(
        terrain=_int(record, "terrain"),
        hue=_num(record, "hue"),
        sky_shift=_num(record, "sky_shift"),
        time=time_name,
        sun_x=_num(record, "sun_x"),
        sun_y=_num(record, "sun_y"),
        sun_r=_num(record, "sun_r"),
        heights=heights,
        amps=amps,
        water=_opt_num(record, "water"),
        cloud_seed=_int(record, "cloud_seed"),
        clouds=_num(record, "clouds"),
        jitter_seed=_int(record, "jitter_seed"),
        jitter=_num(record, "jitter"),
        trees=_bool(record, "trees"),
        view=View(cx=_num(v, "cx"), cy=_num(v, "cy"), sx=_num(v, "sx"), sy=_num(v, "sy")),
        elements=tuple(e for e in _strs(record, "elements") if e in ELEMENTS),
    )


# -- typed reads: a wrong type is a BadRecord, not a crash later in a request ----------

_REQUIRED = object()


def _get(record: dict[str, Any], key: str, default: object) -> object:
    if key in record:
        return record[key]
    if default is _REQUIRED:
        raise BadRecord(f"{key!r} is missing")
    return default


def _str(record: dict[str, Any], key: str, default: object = _REQUIRED) -> str:
    value = _get(record, key, default)
    if not isinstance(value, str):
        raise BadRecord(f"{key!r} is not a string")
    return value


def _opt_str(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRecord(f"{key!r} is not a string")
    return value


def _int(record: dict[str, Any], key: str, default: object = _REQUIRED) -> int:
    value = _get(record, key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRecord(f"{key!r} is not an integer")
    return value


def _num(record: dict[str, Any], key: str, default: object = _REQUIRED) -> float:
    value = _get(record, key, default)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise BadRecord(f"{key!r} is not a finite number")
    return float(value)


def _opt_num(record: dict[str, Any], key: str) -> float | None:
    return None if record.get(key) is None else _num(record, key)


def _bool(record: dict[str, Any], key: str, default: object = _REQUIRED) -> bool:
    value = _get(record, key, default)
    if not isinstance(value, bool):
        raise BadRecord(f"{key!r} is not true or false")
    return value


def _strs(record: dict[str, Any], key: str) -> tuple[str, ...]:
    value = record.get(key, [])
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise BadRecord(f"{key!r} is not a list of strings")
    return tuple(value)


def _nums(record: dict[str, Any], key: str) -> tuple[float, ...]:
    value = record.get(key)
    if not isinstance(value, list):
        raise BadRecord(f"{key!r} is not a list of numbers")
    return tuple(_num({key: x}, key) for x in value)


__all__ = ["VERSION", "StateFile", "decode", "encode"]
