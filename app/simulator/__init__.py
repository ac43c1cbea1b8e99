"""A built-in simulator of the imagine / message / button API, served over real HTTP.

Used by the tests, the benchmark and ``imagine-tui simulate``: deterministic
procedural landscapes, the seed's progress steps and answer shapes, button
semantics, rate limiting, a banned-word prefilter, webhooks and seeded chaos.
"""

from app.simulator.config import GENERATION_SECONDS, SimulatorConfig
from app.simulator.jobs import SimJob
from app.simulator.server import RequestRecord, Simulator, run_simulator
from app.simulator.webhook import WebhookRecord

__all__ = [
    "GENERATION_SECONDS",
    "RequestRecord",
    "SimJob",
    "Simulator",
    "SimulatorConfig",
    "WebhookRecord",
    "run_simulator",
]
