"""No two packages under app/ import each other, directly or round a longer loop.

Every import counts, the lazy ones inside functions too: a lower package
(accounts, audit) never imports a domain; the domain hands it what it needs.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path) -> Iterator[str]:
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target
            # `from app import facilities` names a package, not an attribute.
            yield from (f"{target}.{alias.name}" for alias in node.names)


def _top_package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "app" else None


def package_graph() -> dict[str, set[str]]:
    # A module at the top (app/main.py, app/cli.py) stands for itself.
    packages = {p.stem for p in APP.iterdir() if (p / "__init__.py").exists() or p.suffix == ".py"}
    packages.discard("__init__")
    graph: dict[str, set[str]] = {name: set() for name in packages}
    for path in APP.rglob("*.py"):
        source = _top_package(_module_name(path))
        if source not in packages:
            continue
        for module in _imported_modules(path):
            target = _top_package(module)
            if target in packages and target != source:
                graph[source].add(target)
    return graph


def package_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _edges_within(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    return [f"{a} -> {b}" for a in group for b in sorted(graph[a]) if b in group]


def test_the_loop_finder_names_each_loop_once():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": set()}
    assert sorted(package_cycles(graph)) == [["a", "b", "c"], ["d", "e"]]


def test_no_package_imports_itself_round_a_loop():
    graph = package_graph()
    cycles = package_cycles(graph)
    assert not cycles, "package cycles: " + "; ".join(
        ", ".join(_edges_within(graph, group)) for group in cycles
    )


def test_only_the_cli_imports_the_demo_data():
    graph = package_graph()
    assert sorted(name for name, targets in graph.items() if "demo" in targets) == ["cli"]
