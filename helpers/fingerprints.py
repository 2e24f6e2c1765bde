"""Fingerprints of code: what the run cache and the committed notebooks are keyed on.

A fingerprint is a hash of *parsed* source: comments, docstrings and layout do not count, so
editing them keeps cached runs valid, while changing any line of code does not. Three kinds:

- :func:`module_fingerprint`: a module of ``helpers``, taken whole. It is read once per loaded
  version of the module (again after a reload), so a file edited while a kernel keeps running
  the old code never lends its fingerprint to the old code's results.
- :func:`code_fingerprint`: any function, class or object, e.g. a normalization or a probe
  written in a notebook cell. User code counts by its own source, plus the user-defined
  functions, classes and constants it refers to by name; code from ``helpers`` by its module;
  installed libraries (torch, numpy, ...) by nothing (their versions enter run keys apart).
  ``None`` when some user source cannot be read: the caller must then not cache.
- :func:`engine_fingerprint`: the modules every run executes (:data:`ENGINE_MODULES`), in every
  run's cache key. :func:`code_stamp`: the modules a notebook (or a claim record) used, those its
  process imported, and their fingerprint; an edit elsewhere leaves the stamp valid.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import inspect
import sys
import sysconfig
import textwrap
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PACKAGE = __name__.rsplit(".", 1)[0]  # "helpers"
PACKAGE_DIR = Path(__file__).resolve().parent
# The engine: the modules whose code any training run executes, whatever its normalization and probes
# (those are keyed by their own code). tests/test_what_recomputes_what.py checks the list both ways, by tracing
# runs: a run executes no helpers code its key does not cover, and every function here runs in some run.
ENGINE_MODULES = ("arithmetic", "batchnorm", "data", "ensemble", "lp_norm", "models", "noise", "norms",
                  "probe_protocol", "runs", "train")
# Executed by runs but not keyed, because what their code decides the key holds as a value: the
# configuration (config), the device (profiles), the arithmetic mode by name (gpu_speed), where files
# live (paths), and the key itself (fingerprints).
VALUE_MODULES = ("config", "fingerprints", "gpu_speed", "paths", "profiles")
_LIBRARY_DIRS = tuple({Path(sysconfig.get_paths()[k]).resolve() for k in ("stdlib", "platstdlib", "purelib",
                                                                            "platlib")})
_PLAIN = (type(None), bool, int, float, complex, str, bytes)


def source_fingerprint(source: str) -> str:
    """Hash of Python source as parsed: comments, docstrings and formatting do not count.

    Source that does not parse on its own (a lambda cut out of a longer expression) is hashed
    as text, without its comment-only lines and surrounding blank space.
    """
    source = textwrap.dedent(source)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        lines = [line.strip() for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]
        return _sha("text:" + "\n".join(lines))
    return _sha(_dump(_drop_docstrings(tree)))


def _drop_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _dump(node: Any) -> str:
    """A stable text form of an AST: like ``ast.dump`` without positions, and without empty or
    None fields, so the same code gives the same text on every Python version we support."""
    if isinstance(node, ast.AST):
        fields = [f"{name}={_dump(value)}" for name, value in ast.iter_fields(node)
                  if value is not None and value != []]
        return f"{type(node).__name__}({', '.join(fields)})"
    if isinstance(node, list):
        return "[" + ", ".join(_dump(item) for item in node) + "]"
    return repr(node)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- modules of the package -------------------------------------------------------------------

_module_cache: dict[str, tuple[tuple[int, ...], str]] = {}


def module_fingerprint(name: str) -> str:
    """Fingerprint of the module ``helpers.<name>`` as it is loaded in this process."""
    full = PACKAGE if name in (PACKAGE, "__init__") else name if name.startswith(PACKAGE + ".") \
        else f"{PACKAGE}.{name}"
    module = sys.modules.get(full) or __import__(full, fromlist=["_"])
    loaded = _loaded_version(module)
    cached = _module_cache.get(full)
    if cached is None or cached[0] != loaded:  # first use, or the module was reloaded since
        _module_cache[full] = (loaded, source_fingerprint(Path(module.__file__).read_text()))
    return _module_cache[full][1]


def _loaded_version(module: types.ModuleType) -> tuple[int, ...]:
    """Identities of the module's own functions and classes: they change when it is reloaded."""
    return tuple(id(v) for v in vars(module).values()
                 if (inspect.isfunction(v) or inspect.isclass(v)) and v.__module__ == module.__name__)


def short_name(dotted: str) -> str:
    """``helpers.plots`` -> ``plots``, ``helpers.exercises.landscape`` -> ``exercises.landscape``,
    the package itself -> ``__init__``."""
    return "__init__" if dotted == PACKAGE else dotted[len(PACKAGE) + 1:]


def package_modules() -> list[str]:
    """Every module of the package, subfolders included, by name below it (``plots``,
    ``exercises.landscape``; a subpackage by its folder's name; the package itself as ``__init__``)."""
    names = []
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = path.relative_to(PACKAGE_DIR).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        names.append(".".join(parts) if parts else "__init__")
    return sorted(names)


def loaded_modules() -> list[str]:
    """The package's modules this process has imported: all the helpers code it can have run."""
    return sorted(short_name(name) for name, module in list(sys.modules.items())
                  if (name == PACKAGE or name.startswith(PACKAGE + ".")) and getattr(module, "__file__", None))


def code_stamp(names: Iterable[str] | None = None) -> dict[str, Any]:
    """What a notebook or a claim record is stamped with: the modules it used (those loaded now, by
    default), each with its fingerprint, and one fingerprint of them all. :func:`stamp_staleness`
    checks a stamp against the code at hand."""
    names = sorted(set(loaded_modules() if names is None else names))
    return {"code": _combined(names), "modules": {name: module_fingerprint(name) for name in names}}


def stamp_staleness(stamp: Any) -> str:
    """Why a stamp does not match the code at hand ("" when it does): which modules changed or are gone."""
    modules = stamp.get("modules") if isinstance(stamp, dict) else None
    if not isinstance(modules, dict):
        return "it does not name its helpers modules (stamped by an older version)"
    present = set(package_modules())
    gone = [name for name in modules if name not in present]
    if gone:
        return f"its modules {', '.join(gone)} no longer exist"
    changed = [name for name, fingerprint in modules.items() if module_fingerprint(name) != fingerprint]
    if changed:
        return f"the code of {', '.join(changed)} changed since"
    return ""


def _combined(names: Iterable[str]) -> str:
    return _sha(";".join(f"{name}:{module_fingerprint(name)}" for name in names))


def engine_fingerprint() -> str:
    """The modules every training run executes (:data:`ENGINE_MODULES`)."""
    return _combined(ENGINE_MODULES)


def helpers_fingerprint() -> str:
    """Every module of the package, subfolders included (what a precompute worker must share)."""
    return _combined(package_modules())


# --- any object -------------------------------------------------------------------------------

def code_fingerprint(obj: Any) -> str | None:
    """Fingerprint of the code behind ``obj`` (see the module docstring); None when some of the
    user code it involves has no readable source (then :func:`unreadable` names it)."""
    parts: list[str] = []
    missing: list[str] = []
    _collect(obj, parts, missing, set())
    return None if missing else _sha("\n".join(parts))


def code_modules(obj: Any) -> set[str]:
    """The ``helpers`` modules whose fingerprints :func:`code_fingerprint` takes for ``obj``."""
    parts: list[str] = []
    _collect(obj, parts, [], set())
    prefix = PACKAGE + "."
    return {part.split(":")[0][len(prefix):] for part in parts if part.startswith(prefix) and ":" in part}


def unreadable(obj: Any) -> list[str]:
    """The user code behind ``obj`` whose source cannot be read (empty when all of it can)."""
    missing: list[str] = []
    _collect(obj, [], missing, set())
    return missing


def _origin(obj: Any) -> str:
    """'helpers', 'library' or 'user', by the module that defines ``obj``."""
    module_name = getattr(obj, "__module__", None) or ""
    if module_name == PACKAGE or module_name.startswith(PACKAGE + "."):
        return "helpers"
    if module_name in sys.builtin_module_names or module_name == "builtins":
        return "library"
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if module_name == "__main__" or path is None:
        return "user"  # a notebook cell or the script being run
    resolved = Path(path).resolve()
    return "library" if any(resolved.is_relative_to(d) for d in _LIBRARY_DIRS) else "user"


def _collect(obj: Any, parts: list[str], missing: list[str], seen: set[int]) -> None:
    if isinstance(obj, _PLAIN):
        parts.append(repr(obj))
        return
    if isinstance(obj, (tuple, list, frozenset, set)):
        parts.append(type(obj).__name__)
        for item in (sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj):
            _collect(item, parts, missing, seen)
        return
    if isinstance(obj, dict):
        for key in sorted(obj, key=repr):
            parts.append(repr(key))
            _collect(obj[key], parts, missing, seen)
        return
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, types.ModuleType):
        return  # a module referred to by name (torch, np): its objects count where they are used
    if isinstance(obj, functools.partial):
        _collect(obj.func, parts, missing, seen)
        _collect((obj.args, obj.keywords), parts, missing, seen)
        return
    if inspect.ismethod(obj):
        _collect(obj.__func__, parts, missing, seen)
        _collect(type(obj.__self__), parts, missing, seen)
        return
    if isinstance(obj, (staticmethod, classmethod)):
        _collect(obj.__func__, parts, missing, seen)
        return
    if isinstance(obj, property):
        for accessor in (obj.fget, obj.fset, obj.fdel):
            if accessor is not None:
                _collect(accessor, parts, missing, seen)
        return
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        _collect(type(obj), parts, missing, seen)  # an instance: its class's code
        return
    origin = _origin(obj)
    if origin == "helpers":
        parts.append(f"{obj.__module__}:{module_fingerprint(obj.__module__)}")
    elif origin == "library":
        parts.append(f"{obj.__module__}.{getattr(obj, '__qualname__', '')}")
    elif inspect.isclass(obj):
        _collect_class(obj, parts, missing, seen)
    else:
        _collect_function(obj, parts, missing, seen)


def _collect_class(cls: type, parts: list[str], missing: list[str], seen: set[int]) -> None:
    parts.append(f"class {cls.__qualname__}")
    for base in cls.__bases__:
        if base is not object:
            _collect(base, parts, missing, seen)
    for name, value in sorted(vars(cls).items()):
        if name.startswith("__") and name.endswith("__") and not inspect.isfunction(value):
            continue  # __module__, __dict__, __doc__, ...: bookkeeping, not code
        if inspect.isfunction(value) and value.__code__.co_filename == "<string>" and dataclasses.is_dataclass(cls):
            continue  # written by @dataclass from the fields, which count below
        parts.append(name)
        _collect(value, parts, missing, seen)
    if dataclasses.is_dataclass(cls):
        parts.append(repr([(f.name, str(f.type), repr(f.default)) for f in dataclasses.fields(cls)]))


def _collect_function(fn: Callable, parts: list[str], missing: list[str], seen: set[int]) -> None:
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        missing.append(f"{fn.__module__}.{fn.__qualname__}")
        return
    parts.append(f"def {fn.__qualname__}:{source_fingerprint(source)}")
    _collect((fn.__defaults__, fn.__kwdefaults__), parts, missing, seen)
    free = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    for name, cell in sorted(free.items()):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if _counts(value):
            parts.append(name)
            _collect(value, parts, missing, seen)
    namespace = fn.__globals__
    for name in sorted(_global_names(fn.__code__)):
        if name in namespace and _counts(namespace[name]):
            parts.append(name)
            _collect(namespace[name], parts, missing, seen)


def _counts(value: Any) -> bool:
    """Does a value that code refers to by name count towards its fingerprint? Constants and code
    do; mutable containers do not (a list that collects results is state, not code), nor do
    installed libraries' objects."""
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, tuple):
        return all(_counts(item) for item in value)
    if isinstance(value, (list, dict, set, types.ModuleType)):
        return False
    return _origin(value if callable(value) else type(value)) != "library"


def _global_names(code: types.CodeType) -> set[str]:
    """Names a function's code (and the code nested in it) looks up, globals among them."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names
