"""Names imported when first used, so that loading a plugin (every command loads every
plugin, ``retroflow --help`` included) imports no more than it needs.

* :func:`import_object`: ``"package.module:name"`` (or ``".module:name"`` relative to a
  package) → that object;
* :func:`lazy_exports`: a module ``__getattr__`` built from such paths, or exporting all
  of another module's ``__all__``;
* :func:`exports_by_module`: those paths from a table of names by module;
* :func:`lazy_package`: a package's ``__getattr__`` and ``__dir__`` from such a table.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["exports_by_module", "import_object", "lazy_exports", "lazy_package"]


def import_object(path: str, package: str | None = None) -> Any:
    """``"package.module:name"`` → that object, importing the module; a module starting
    with a dot is relative to ``package``."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module, package), name)


def lazy_exports(
    module: str, exports: Mapping[str, str] | None = None, *, all_of: Iterable[str] = ()
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each of ``exports`` (name → ``"module:name"``,
    the module absolute or relative to ``module``) when it is first asked for::

        __getattr__ = lazy_exports(__name__, {"AcmeSettings": ".settings:AcmeSettings"})

    keeps ``from acme_plugin import AcmeSettings`` working while loading the plugin imports
    neither the settings nor what they need. A module that exports everything another one
    does names that one in ``all_of`` instead of listing its names again: a name not in
    ``exports`` is looked for in the ``__all__`` of each, imported then, in turn."""
    named = exports or {}
    homes = tuple(all_of)

    def __getattr__(name: str) -> Any:
        path = named.get(name)
        if path is not None:
            return import_object(path, module)
        # Tools probe modules for private names (``__path__``, ``__wrapped__``): no module
        # exports one, so none is imported to answer.
        if not name.startswith("_"):
            for home in homes:
                exporter = importlib.import_module(home, module)
                if name in exporter.__all__:
                    return getattr(exporter, name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__


def exports_by_module(homes: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """``{"module": ("Name", ...)}`` → the ``{"Name": "module:Name"}`` of
    :func:`lazy_exports`, for a package that exports many names of a few modules under
    their own names."""
    return {name: f"{module}:{name}" for module, names in homes.items() for name in names}


def lazy_package(
    package: str, homes: Mapping[str, Iterable[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` (the :func:`lazy_exports` of ``homes``, a table as
    :func:`exports_by_module` reads it) and its ``__dir__``, which lists its ``__all__``
    beside what it holds already, imported or not::

        __getattr__, __dir__ = lazy_package(__name__, {".settings": ("AcmeSettings",)})
    """

    def __dir__() -> list[str]:
        namespace = vars(sys.modules[package])
        return sorted({*namespace, *namespace.get("__all__", ())})

    return lazy_exports(package, exports_by_module(homes)), __dir__
