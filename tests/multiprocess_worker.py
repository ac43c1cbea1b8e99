"""A JobManager in its own process, driven over stdin/stdout by the multi-process tests.

    python tests/multiprocess_worker.py DATA_DIR BASE_URL INTERVAL [--no-adopt]

BASE_URL "demo" serves (or attaches to) the data dir's demo simulator, as the app does.

Commands, one JSON object a line on stdin:
    {"op": "imagine", "prompt": "..."}   -> {"reply": "imagine", "id": JOB_ID}
    {"op": "favourite", "id": JOB_ID}    -> {"reply": "favourite"}
    {"op": "stats"}                      -> {"reply": "stats", "polls": {JOB_ID: n}}
    {"op": "quit"}                       -> closes the manager, then exits
Every JobChanged is printed as {"event": "changed", "id": ..., "state": ..., ...}.
The manager's budget is shared through DATA_DIR, as the app's is.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from app.api.client import ImagineClient
from app.backends import Update
from app.backends.thenextleg import TheNextLeg
from app.jobs import JobChanged, JobEvent, JobManager, JobStore, ManagerSettings, RequestBudget
from app.jobs.budget import shared_budget
from app.simulator import SimulatorConfig
from app.simulator.demo import DemoSimulator

TOKEN = "multiprocess-test-token"


def say(data: dict[str, Any]) -> None:
    print(json.dumps(data), flush=True)


def on_event(event: JobEvent) -> None:
    if isinstance(event, JobChanged):
        job = event.job
        say(
            {
                "event": "changed",
                "id": job.id,
                "state": job.state.value,
                "progress": job.progress,
                "favourite": job.favourite,
                "message_id": job.message_id,
            }
        )


async def main(data_dir: Path, base_url: str, interval: float, adopt: bool) -> None:
    store = JobStore(data_dir / "history.sqlite3")
    token: str | None = TOKEN
    demo = None
    if base_url == "demo":
        state = data_dir / "simulator-state.json"
        demo = DemoSimulator(SimulatorConfig(speed=35, tile_size=32, state_path=state), data_dir)
        base_url, token = demo.start(), None
    client = ImagineClient(base_url, token, timeout=10.0)
    budget = RequestBudget(interval, shared=shared_budget(data_dir, base_url, token))
    api = TheNextLeg(base_url, token, client=client)
    polls: Counter[str] = Counter()
    ask = api.fetch

    async def counted(message_id: str) -> Update:
        polls[message_id] += 1
        return await ask(message_id)

    api.fetch = counted  # type: ignore[method-assign]
    manager = JobManager(
        api,
        store,
        budget=budget,
        settings=ManagerSettings(adopt=adopt, expected_seconds=1.0),
        listener=on_event,
    )
    await manager.start()
    say({"event": "ready", "owner": manager.owner})
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        command = json.loads(line)
        op = command["op"]
        if op == "imagine":
            say({"reply": "imagine", "id": manager.submit_imagine(command["prompt"]).id})
        elif op == "favourite":
            manager.set_favourite(command["id"], True)
            say({"reply": "favourite"})
        elif op == "stats":
            by_job = {j.id: polls[j.message_id] for j in manager.jobs() if j.message_id is not None}
            say({"reply": "stats", "polls": by_job})
        elif op == "quit":
            break
    await manager.close()
    await client.aclose()
    if budget.shared is not None:
        budget.shared.close()
    store.close()
    if demo is not None:
        demo.stop()
    say({"event": "closed"})


if __name__ == "__main__":
    asyncio.run(
        main(Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]), "--no-adopt" not in sys.argv)
    )
