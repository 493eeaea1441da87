"""The layer rules, read from the source (imports and names):

- only ``store.py`` files and ``db/`` import ``drawdown.db.tables``;
- no module outside ``db/`` branches on the database backend (``dialect.name``): the
  differences live in ``drawdown.db.portable``;
- no module compares ``organization_id`` itself: the tenant condition is written once, in
  ``drawdown.db.scope``;
- dialects and ``api.py`` files import nothing of SQLAlchemy beyond the ``Connection``
  they pass on, nor anything of ``drawdown.db`` but the engine;
- the domain packages customers, events, meters and credits import each other without a
  cycle;
- below the HTTP edge, validation failures name the fields of what the service was given
  (``["amount"]``), never a part of the request (``["body", "amount"]``): the route places
  them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "drawdown"
DOMAINS = ("customers", "events", "meters", "credits")


def _modules() -> Iterator[tuple[str, ast.Module, str]]:
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("db/migrations/"):
            continue
        text = path.read_text()
        yield rel, ast.parse(text), text


def _imports(tree: ast.Module) -> Iterator[tuple[str, list[str]]]:
    """(module, names imported from it) for every import, nested ones included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []


def _imports_tables(tree: ast.Module) -> bool:
    for module, names in _imports(tree):
        if module == "drawdown.db.tables" or (module == "drawdown.db" and "tables" in names):
            return True
    return False


def test_only_stores_and_db_import_the_tables() -> None:
    offenders = {
        rel
        for rel, tree, _ in _modules()
        if _imports_tables(tree) and not (rel.startswith("db/") or rel.endswith("store.py"))
    }
    assert offenders == set()


def test_only_the_portability_module_branches_on_the_backend() -> None:
    offenders = {
        rel for rel, _, text in _modules() if "dialect.name" in text and not rel.startswith("db/")
    }
    assert offenders == set()


def test_the_tenant_condition_is_written_once() -> None:
    # keys/store.py lists an organization's keys across both modes: organization-level.
    allowed = {"db/scope.py", "keys/store.py"}
    offenders = {
        rel for rel, _, text in _modules() if "organization_id ==" in text and rel not in allowed
    }
    assert offenders == set()


def test_dialects_and_api_modules_use_no_sqlalchemy_beyond_the_connection() -> None:
    offenders = set()
    for rel, tree, _ in _modules():
        if not (rel.startswith("dialects/") or rel.endswith("/api.py")):
            continue
        for module, names in _imports(tree):
            if module.startswith("sqlalchemy") and (
                module != "sqlalchemy" or set(names) - {"Connection"}
            ):
                offenders.add(rel)
            if module.startswith("drawdown.db") and module not in ("drawdown.db.engine",):
                offenders.add(rel)
    assert offenders == set()


def _domain_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {domain: set() for domain in DOMAINS}
    for rel, tree, _ in _modules():
        owner = rel.split("/", 1)[0]
        if owner not in graph:
            continue
        for module, _names in _imports(tree):
            parts = module.split(".")
            if len(parts) > 1 and parts[0] == "drawdown" and parts[1] in set(graph) - {owner}:
                graph[owner].add(parts[1])
    return graph


def _cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected groups of more than one package."""
    reach = {node: _reachable(graph, node) for node in graph}
    return {
        frozenset(n for n in graph if n in reach[node] and node in reach[n]) | {node}
        for node in graph
        if any(node in reach[n] for n in reach[node])
    }


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph[node])
    return seen


def test_domain_packages_import_each_other_without_a_cycle() -> None:
    """Flows that span domains live in drawdown.flows, above them (api.py files, the HTTP
    edge, call it); the domains themselves import downwards only."""
    assert _cycles(_domain_graph()) == set()


def test_the_domains_do_not_import_the_flows() -> None:
    """Only the HTTP edge (api.py files and the dialects) composes through drawdown.flows."""
    offenders = set()
    for rel, tree, _ in _modules():
        owner = rel.split("/", 1)[0]
        if (
            owner in DOMAINS
            and not rel.endswith("/api.py")
            and any(
                module == "drawdown.flows" or (names == ["flows"] and module == "drawdown")
                for module, names in _imports(tree)
            )
        ):
            offenders.add(rel)
    assert offenders == set()


# Packages whose modules other than api.py are below the HTTP edge, and the modules above
# the domains that are too.
SERVICE_PACKAGES = (*DOMAINS, "holds", "webhooks", "alerts", "topups", "currencies", "keys")
SERVICE_MODULES = ("flows.py", "consumption.py", "money.py", "paging.py", "records.py")
REQUEST_PARTS = {"body", "query", "path", "header"}


def _request_locations(tree: ast.Module) -> Iterator[int]:
    """Lines of list or tuple literals that start with a part of the request, and of calls
    to ``request_field``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.List | ast.Tuple) and node.elts:
            first = node.elts[0]
            if isinstance(first, ast.Constant) and first.value in REQUEST_PARTS:
                yield node.lineno
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "request_field":
            yield node.lineno


def test_services_name_fields_not_request_parts() -> None:
    offenders = set()
    for rel, tree, _ in _modules():
        below_edge = rel in SERVICE_MODULES or (
            rel.split("/", 1)[0] in SERVICE_PACKAGES and not rel.endswith("/api.py")
        )
        if below_edge:
            offenders |= {f"{rel}:{line}" for line in _request_locations(tree)}
    assert offenders == set()


def test_the_request_location_finder_finds_them() -> None:
    tree = ast.parse(
        'field(["amount"], "x")\nfield(["body", "amount"], "x")\nrequest_field(["query"], "y")'
    )
    assert sorted(_request_locations(tree)) == [2, 3, 3]


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": set()}, set()),
        ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, {frozenset({"a", "b"})}),
    ],
)
def test_the_cycle_finder_finds_cycles(
    graph: dict[str, set[str]], expected: set[frozenset[str]]
) -> None:
    assert _cycles(graph) == expected
