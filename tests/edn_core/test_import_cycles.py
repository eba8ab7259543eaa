"""No import cycle inside the platform (edn_core, and the registry app it ships with): not
between two modules, nor between two sibling packages.

The graph is grimp's (the library import-linter checks its contracts with); it counts every
import, also one inside a function or under ``TYPE_CHECKING``, so a lazy import cannot hide a
cycle. A cycle is named module by module, each importing the next.
"""

from __future__ import annotations

import textwrap

import grimp
import pytest


def module_cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """One shortest cycle ``[a, b, ..., a]`` through each import that is part of one."""
    inside = {m for m in graph.modules if m == package or m.startswith(f"{package}.")}
    cycles, seen = [], set()
    for importer in sorted(inside):
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & inside):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is None:
                continue
            cycle = [importer, *back]
            key = frozenset(cycle)
            if key not in seen:
                seen.add(key)
                cycles.append(cycle)
    return cycles


def sibling_cycles(graph: grimp.ImportGraph, package: str) -> dict[str, list[str]]:
    """For each package in ``package`` (itself included) whose children import each other in a
    cycle: the imports that would break it, as "a -> b" (import-linter's acyclic siblings)."""
    found = {}
    for parent in sorted({package, *graph.find_descendants(package)}):
        if len(graph.find_children(parent)) < 2:
            continue
        breakers = graph.nominate_cycle_breakers(parent)
        if breakers:
            found[parent] = sorted(f"{a} -> {b}" for a, b in breakers)
    return found


def _graph(package: str) -> grimp.ImportGraph:
    return grimp.build_graph(package, cache_dir=None)


def _named(cycles: list[list[str]]) -> str:
    return "\n".join(" -> ".join(cycle) for cycle in cycles)


PLATFORM = ["edn_core", "schema_registry"]


@pytest.mark.parametrize("package", PLATFORM)
def test_no_two_modules_import_each_other_in_a_cycle(package):
    cycles = module_cycles(_graph(package), package)
    assert not cycles, f"import cycles inside {package}:\n{_named(cycles)}"


@pytest.mark.parametrize("package", PLATFORM)
def test_no_two_sibling_packages_import_each_other_in_a_cycle(package):
    cycles = sibling_cycles(_graph(package), package)
    assert not cycles, f"import cycles between sibling packages of {package}: {cycles}"


@pytest.fixture
def sample(tmp_path, monkeypatch):
    """Write a package ``cyclesample`` of ``{relative path: source}`` importable for grimp."""

    def write(files: dict[str, str]) -> grimp.ImportGraph:
        for name, text in {"__init__.py": "", **files}.items():
            path = tmp_path / "cyclesample" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        monkeypatch.syspath_prepend(str(tmp_path))
        return _graph("cyclesample")

    return write


def test_the_checker_names_a_cycle_a_lazy_import_closes(sample):
    graph = sample(
        {
            "a.py": "from cyclesample import b\n",
            "b.py": "def later():\n    from cyclesample.c import thing\n",
            "c.py": "import cyclesample.a\nthing = 1\n",
            "d.py": "from cyclesample import a\n",  # imports into the cycle: not part of it
        }
    )
    cycles = module_cycles(graph, "cyclesample")
    assert cycles == [["cyclesample.a", "cyclesample.b", "cyclesample.c", "cyclesample.a"]]
    assert "cyclesample.a -> cyclesample.b -> cyclesample.c -> cyclesample.a" in _named(cycles)


def test_the_checker_finds_a_cycle_between_sibling_packages_and_none_in_a_tree(sample):
    graph = sample(
        {
            "x/__init__.py": "",
            "x/one.py": "from cyclesample.y import two\n",
            "x/three.py": "",
            "y/__init__.py": "",
            "y/two.py": "",
            "y/four.py": "from cyclesample.x import three\n",
        }
    )
    assert module_cycles(graph, "cyclesample") == []  # no module imports itself back
    assert list(sibling_cycles(graph, "cyclesample")) == ["cyclesample"]

    graph.remove_import(importer="cyclesample.y.four", imported="cyclesample.x.three")
    assert sibling_cycles(graph, "cyclesample") == {}
