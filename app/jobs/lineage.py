"""Lineage: which job was made from which. The one place that walks parent links.

Every walk is iterative (a long chain of variations must not hit the recursion limit)
and ends on a missing parent or a loop, which a damaged history can hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from app.jobs.model import Job


class Tree:
    """Parent links of job ids, added oldest first.

    A job whose parent is not in the tree (yet, or ever) is a root: the same rule for the
    job list, exports and the manager, so a history with holes still shows every job once.
    """

    def __init__(self, links: Iterable[tuple[str, str | None]] = ()) -> None:
        self.parent_of: dict[str, str | None] = {}  # None: a root
        self.depth: dict[str, int] = {}
        self._kids: dict[str | None, list[str]] = {}
        for job_id, parent_id in links:
            self.add(job_id, parent_id)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self.parent_of

    def __len__(self) -> int:
        return len(self.parent_of)

    def add(self, job_id: str, parent_id: str | None) -> str | None:
        """Link ``job_id`` under ``parent_id``; returns the parent it got (None: a root)."""
        if job_id in self.parent_of:
            return self.parent_of[job_id]
        parent = parent_id if parent_id in self.parent_of else None
        self.parent_of[job_id] = parent
        self._kids.setdefault(parent, []).append(job_id)
        self.depth[job_id] = 0 if parent is None else self.depth[parent] + 1
        return parent

    def roots(self) -> list[str]:
        return list(self._kids.get(None, ()))

    def children(self, job_id: str) -> list[str]:
        """The ids made from ``job_id``, oldest first."""
        return list(self._kids.get(job_id, ()))

    def order(self, root: str | None = None) -> list[str]:
        """Depth first, oldest sibling first: ``root`` and everything under it, or every
        tree when ``root`` is None."""
        if root is not None and root not in self.parent_of:
            return []
        stack = [root] if root is not None else list(reversed(self._kids.get(None, ())))
        out: list[str] = []
        while stack:
            job_id = stack.pop()
            out.append(job_id)
            stack.extend(reversed(self._kids.get(job_id, ())))
        return out


def _by_age(jobs: Iterable[Job]) -> list[Job]:
    return sorted(jobs, key=lambda j: j.created_at)


def children(jobs: Iterable[Job], job_id: str) -> list[Job]:
    """The jobs made from ``job_id``, oldest first."""
    return _by_age(j for j in jobs if j.parent_id == job_id)


def ancestors(jobs_by_id: Mapping[str, Job], job: Job) -> list[Job]:
    """The jobs ``job`` came from, root first."""
    chain: list[Job] = []
    seen = {job.id}
    parent_id = job.parent_id
    while parent_id is not None and parent_id not in seen:
        parent = jobs_by_id.get(parent_id)
        if parent is None:
            break
        chain.append(parent)
        seen.add(parent.id)
        parent_id = parent.parent_id
    chain.reverse()
    return chain


def tree_root(jobs: Iterable[Job], job_id: str) -> str:
    """The id of the oldest ancestor of ``job_id`` that is still in ``jobs``."""
    by_id = {j.id: j for j in jobs}
    job = by_id.get(job_id)
    if job is None:
        return job_id
    chain = ancestors(by_id, job)
    return chain[0].id if chain else job.id


def descendants(jobs: Iterable[Job], root_id: str) -> list[tuple[Job, int]]:
    """``root_id`` and everything made from it, depth first in creation order, with the
    depth below ``root_id``."""
    ordered = _by_age(jobs)
    by_id = {j.id: j for j in ordered}
    tree = Tree((j.id, j.parent_id) for j in ordered)
    base = tree.depth.get(root_id, 0)
    return [(by_id[i], tree.depth[i] - base) for i in tree.order(root_id)]
