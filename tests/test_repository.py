"""The repository stands alone: every file it refers to exists, and the committed notebooks are
the output of the code at hand (executed with scripts/execute_notebooks.sh, in `laptop`)."""

import ast
import json
import re
from pathlib import Path

import pytest

from helpers.fingerprints import stamp_staleness

ROOT = Path(__file__).resolve().parent.parent
# Where readers look. Tests are left out: they name made-up files (tmp_path / "ok.ipynb") on purpose.
SKIP_DIRS = {".git", "data", "tests", "build", "dist", ".venv", "__pycache__", ".ipynb_checkpoints",
             ".pytest_cache", ".ruff_cache"}
TEXT_SUFFIXES = {".py", ".md", ".ipynb", ".sh", ".yml", ".yaml", ".toml", ".cfg", ".txt"}
FILE_REFERENCE = re.compile(r"(?<![\w/.\-])((?:\.{1,2}/)*[\w\-]+(?:[./][\w\-]+)*\.(?:py|md|ipynb|sh|yml|yaml|toml|cfg))"
                            r"(?![\w\-])")
URL = re.compile(r"https?://\S+")
NOTEBOOKS = sorted(ROOT.glob("notebooks/[0-9]*.ipynb"))


def repository_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        if path.is_file() and not any(p in SKIP_DIRS or p.endswith(".egg-info") for p in parts[:-1]):
            files.append(path)
    return files + [ROOT / "data" / "README.md"]


def texts(path: Path) -> str:
    """What a reader reads: for a notebook, its cells' sources (outputs are the machine's)."""
    if path.suffix == ".ipynb":
        return "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
    return path.read_text()


def references(text: str) -> set[str]:
    return {m.group(1) for m in FILE_REFERENCE.finditer(URL.sub(" ", text))}


def resolves(reference: str, where: Path, files: list[Path]) -> bool:
    """A reference is good if it names a file relative to the referring file or the repository root,
    or is the tail of the path of a repository file (``probes.py``, ``helpers/probes.py``)."""
    if (where.parent / reference).is_file() or (ROOT / reference).is_file():
        return True
    tail = reference.lstrip("./")
    return any(str(f.relative_to(ROOT)) == tail or str(f.relative_to(ROOT)).endswith("/" + tail) for f in files)


def test_the_reference_scan_catches_a_missing_file(tmp_path):
    missing = "NOTES" + ".md"  # spelled apart, so that this file does not refer to it
    text = f"see `{missing}` and [the protocol](../docs/protocol.md) and helpers/probes.py, not https://x.org/a.md"
    assert references(text) == {missing, "../docs/protocol.md", "helpers/probes.py"}
    files = repository_files()
    assert not resolves(missing, ROOT / "README.md", files)
    assert resolves("../docs/protocol.md", ROOT / "notebooks" / "x.ipynb", files)
    assert resolves("probes.py", ROOT / "README.md", files)


def test_every_file_the_repository_refers_to_exists():
    files = repository_files()
    broken = [f"{path.relative_to(ROOT)}: {ref}" for path in files if path.suffix in TEXT_SUFFIXES
              for ref in sorted(references(texts(path))) if not resolves(ref, path, files)]
    assert not broken, "references to files that do not exist:\n" + "\n".join(broken)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_was_executed_with_the_code_at_hand(path):
    meta = json.loads(path.read_text())["metadata"].get("bn_landscape")
    assert meta, f"{path.name} was not executed with scripts/execute_notebooks.sh"
    assert meta["profile"] == "laptop", f"{path.name} was executed in {meta['profile']!r}, not 'laptop'"
    stale = stamp_staleness(meta)
    assert not stale, (f"{path.name} was executed with other helpers code than this checkout's ({stale}): its "
                       f"outputs may be stale. Run scripts/execute_notebooks.sh notebooks/{path.name}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_has_no_error_output_and_stays_small(path):
    nb = json.loads(path.read_text())
    assert not [c for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert path.stat().st_size < 3_000_000


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_introduction_links_the_protocol(path):
    intro = "".join(json.loads(path.read_text())["cells"][0]["source"])
    assert "../docs/protocol.md" in intro


HELPERS_REFERENCE = re.compile(r"helpers[./]([a-z_]+(?:[./][a-z_]+)*)")
TAUGHT = re.compile(r"Taught in notebooks? ([^.]*)\.")


def module_path(dotted: str) -> Path | None:
    """The file of the longest helpers module ``dotted`` starts with (``summaries.drift`` -> summaries.py)."""
    parts = dotted.removesuffix(".py").replace("/", ".").split(".")
    for end in range(len(parts), 0, -1):
        base = ROOT / "helpers" / Path(*parts[:end])
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file():
                return path
    return None


def modules_named_by_notebooks() -> dict[Path, set[str]]:
    """Each helpers module a notebook names (``helpers/x.py``, ``helpers.x``, ``from helpers import x``),
    with the notebooks that name it."""
    named: dict[Path, set[str]] = {}
    for path in NOTEBOOKS:
        text = texts(path)
        refs = HELPERS_REFERENCE.findall(text)
        for line in re.findall(r"from helpers import ([^\n]+)", text):
            refs += re.findall(r"\w+", line)
        for ref in refs:
            module = module_path(ref)
            if module is not None:
                named.setdefault(module, set()).add(path.name[:2])
    return named


def test_every_module_a_notebook_names_says_which_notebook_teaches_it():
    named = modules_named_by_notebooks()
    assert len(named) > 20
    existing = {path.name[:2] for path in NOTEBOOKS}
    wrong = []
    for module, notebooks in sorted(named.items()):
        found = TAUGHT.search(ast.get_docstring(ast.parse(module.read_text())) or "")
        numbers = set(re.findall(r"\b\d\d\b", found.group(1))) if found else set()
        if not numbers or not numbers <= existing or not numbers & notebooks:
            wrong.append(f"{module.relative_to(ROOT)} (named by notebooks {', '.join(sorted(notebooks))})")
    assert not wrong, "these modules' docstrings should say 'Taught in notebook NN' for a notebook that uses " \
                      "them: " + "; ".join(wrong)
