"""Package names that load their module when first used (PEP 562), so importing a
package for one light name does not pull in its heavy neighbours (httpx, Pillow)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, modules: Mapping[str, tuple[str, ...]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each name from its module.

    ``modules`` maps a module to the names it gives. The package still imports the names
    under ``TYPE_CHECKING`` (as ``X as X``) so that type checkers see them.
    """
    where = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(where[name]), name)

    return __getattr__
