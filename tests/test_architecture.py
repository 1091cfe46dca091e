"""The app import order, no import cycles, and why each function-local import waits
(issue #15, part 3).

Parts, low to high: the vocabulary (``spine``), the platform (``radbot_web``'s settings,
Celery, task policy, middleware), ``audit``, ``accounts``, ``studies``, ``labeling``,
``inference``, ``reports``, and the project's top (``radbot_web.urls`` and its management
commands, which wire every app together). A module may import its own part and the parts
below it; every import upward is listed in ``EXCEPTIONS`` with its reason. Function-local
imports count as much as module-level ones: hiding an import in a function does not hide
the dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER: tuple[str, ...] = (
    "spine",
    "platform",
    "audit",
    "accounts",
    "studies",
    "labeling",
    "inference",
    "reports",
    "project",
)
PROJECT_TOP = ("radbot_web.urls", "radbot_web.management")

# (importing module, imported module prefix) -> why it may run against the order.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("labeling.curation.services", "inference.models"): (
        "active learning: the curation queue's model-disagreement order reads the newest "
        "predictions, whichever app stored the NLP labels or the predictions first"
    ),
    ("labeling.curation.progress", "reports.stats"): (
        "reports.stats is the project's pure statistics library (numpy only, no Django, no app "
        "imports); curation's agreement panel uses its kappa"
    ),
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module
    line: int
    local: bool  # inside a function
    typing_only: bool = False  # under ``if TYPE_CHECKING:``: never runs


def part_of(module: str) -> str | None:
    top = module.split(".")[0]
    if top == "radbot_web":
        return "project" if module.startswith(PROJECT_TOP) else "platform"
    return top if top in ORDER else None


def _modules() -> Iterator[tuple[str, Path]]:
    for top in (
        "spine",
        "radbot_web",
        "audit",
        "accounts",
        "studies",
        "labeling",
        "inference",
        "reports",
    ):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            relative = path.relative_to(ROOT).with_suffix("")
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            yield ".".join(parts), path


def _imports(module: str, path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    local_lines = {
        node.lineno
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(fn)
        if isinstance(node, ast.Import | ast.ImportFrom)
    }
    typing_lines = {
        node.lineno
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test).endswith("TYPE_CHECKING")
        for statement in block.body
        for node in ast.walk(statement)
        if isinstance(node, ast.Import | ast.ImportFrom)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # "from spine import findings" imports spine.findings: name the submodule when it is one.
            targets = [
                f"{node.module}.{alias.name}"
                if (ROOT / node.module.replace(".", "/") / f"{alias.name}.py").exists()
                else node.module
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            yield Import(
                module,
                target,
                node.lineno,
                node.lineno in local_lines,
                node.lineno in typing_lines,
            )


def _all_imports() -> list[Import]:
    return [imp for module, path in _modules() for imp in _imports(module, path)]


def _exception_for(imp: Import) -> str | None:
    for (module, prefix), reason in EXCEPTIONS.items():
        if imp.module == module and (imp.target == prefix or imp.target.startswith(prefix + ".")):
            return reason
    return None


def test_apps_import_only_downwards() -> None:
    upward = []
    for imp in _all_imports():
        source, target = part_of(imp.module), part_of(imp.target)
        if source is None or target is None or source == target:
            continue
        if ORDER.index(target) > ORDER.index(source) and _exception_for(imp) is None:
            upward.append(f"{imp.module}:{imp.line} ({source}) imports {imp.target} ({target})")
    assert upward == [], "imports against the app order:\n" + "\n".join(upward)


def test_every_exception_is_still_needed() -> None:
    used = {
        (imp.module, prefix)
        for imp in _all_imports()
        for (module, prefix) in EXCEPTIONS
        if imp.module == module and (imp.target == prefix or imp.target.startswith(prefix + "."))
    }
    assert set(EXCEPTIONS) - used == set(), "exceptions nothing needs any more: remove them"


def test_the_vocabulary_and_the_pure_cores_import_no_django() -> None:
    pure = (
        "spine",
        "labeling.nlp",
        "labeling.evidence",
        "inference.ml",
        "reports.stats",
        "reports.generation",
        "studies.dicom",
        "studies.synth",
    )

    def within(module: str) -> bool:
        # whole names: studies.dicomweb is not inside studies.dicom
        return any(module == p or module.startswith(p + ".") for p in pure)

    offenders = [
        f"{imp.module}:{imp.line} imports {imp.target}"
        for imp in _all_imports()
        if within(imp.module)
        and (
            imp.target.split(".")[0] == "django"
            or (part_of(imp.target) not in (None, "spine") and not within(imp.target))
        )
    ]
    assert offenders == []


def _says_why(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line, or above its block (imports, blank lines, a ``try:``)."""
    if "#" in lines[lineno - 1]:
        return True
    i = lineno - 2
    while i >= 0:
        text = lines[i].strip()
        if text.startswith("#") or (text.startswith("try:") and "#" in text):
            return True
        if text and not text.startswith(("from ", "import ", "try:")):
            return False
        i -= 1
    return False


def test_every_function_local_import_says_why() -> None:
    silent = []
    for module, path in _modules():
        lines = path.read_text().splitlines()
        silent += [
            f"{module}:{imp.line}: {lines[imp.line - 1].strip()}"
            for imp in _imports(module, path)
            if imp.local and not _says_why(lines, imp.line)
        ]
    assert silent == [], "function-local imports that do not say why they wait:\n" + "\n".join(
        silent
    )


def _import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports when it runs (typing-only imports left out)."""
    names = {module for module, _ in _modules()}

    def known(target: str) -> str | None:
        parts = target.split(".")
        while parts and ".".join(parts) not in names:
            parts.pop()
        return ".".join(parts) or None

    graph: dict[str, set[str]] = {name: set() for name in names}
    for imp in _all_imports():
        target = known(imp.target)
        if target and target != imp.module and not imp.typing_only:
            graph[imp.module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_round_a_cycle() -> None:
    """A service and its task, or two halves of a generator, importing each other (even
    from inside a function) is one job split badly: queue work from a dispatch module."""
    cycles = _cycles(_import_graph())
    assert cycles == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)
