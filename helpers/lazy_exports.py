"""Names a package exports without importing their modules until first use.

``helpers``, ``helpers.plots``, ``helpers.widgets`` and ``helpers.exercises`` each map a name to the
module that defines it; ``from helpers.plots import plot_landscape`` then loads that module alone, so
a notebook loads (and is stamped with) only the helpers code it uses.

Taught in notebook 00 (every notebook imports through these packages).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for ``where`` ({name: submodule of ``package``})."""

    def __getattr__(name: str) -> Any:
        if name in where:
            return getattr(import_module(f".{where[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__
