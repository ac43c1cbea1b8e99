"""Jobs: the model, the SQLite store, the request budget, polling and lineage (no textual).

The names below load with their module when first used: the TUI's first screen needs the
model and the store, not the manager with the backends behind it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.lazy import lazy_exports

if TYPE_CHECKING:
    from app.jobs.budget import Priority as Priority
    from app.jobs.budget import RequestBudget as RequestBudget
    from app.jobs.manager import ConnectionChanged as ConnectionChanged
    from app.jobs.manager import ImagesReady as ImagesReady
    from app.jobs.manager import JobChanged as JobChanged
    from app.jobs.manager import JobEvent as JobEvent
    from app.jobs.manager import JobManager as JobManager
    from app.jobs.manager import ManagerSettings as ManagerSettings
    from app.jobs.manager import Notice as Notice
    from app.jobs.manager import PromptError as PromptError
    from app.jobs.manager import check_prompt as check_prompt
    from app.jobs.model import Job as Job
    from app.jobs.model import JobState as JobState
    from app.jobs.model import new_job_id as new_job_id
    from app.jobs.model import tile_of as tile_of
    from app.jobs.store import JobStore as JobStore
    from app.jobs.store import StoreError as StoreError

__getattr__ = lazy_exports(
    __name__,
    {
        "app.jobs.budget": ("Priority", "RequestBudget"),
        "app.jobs.manager": (
            "ConnectionChanged",
            "ImagesReady",
            "JobChanged",
            "JobEvent",
            "JobManager",
            "ManagerSettings",
            "Notice",
            "PromptError",
            "check_prompt",
        ),
        "app.jobs.model": ("Job", "JobState", "new_job_id", "tile_of"),
        "app.jobs.store": ("JobStore", "StoreError"),
    },
)
