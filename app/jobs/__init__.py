"""Jobs: the model, the SQLite store, the request budget, polling and lineage (no textual)."""

from app.jobs.budget import Priority, RequestBudget
from app.jobs.manager import (
    ConnectionChanged,
    ImagesReady,
    JobChanged,
    JobEvent,
    JobManager,
    ManagerSettings,
    Notice,
    PromptError,
    check_prompt,
)
from app.jobs.model import Job, JobState, new_job_id, tile_of
from app.jobs.store import JobStore, StoreError

__all__ = [
    "ConnectionChanged",
    "ImagesReady",
    "Job",
    "JobChanged",
    "JobEvent",
    "JobManager",
    "JobState",
    "JobStore",
    "ManagerSettings",
    "Notice",
    "Priority",
    "PromptError",
    "RequestBudget",
    "StoreError",
    "check_prompt",
    "new_job_id",
    "tile_of",
]
