"""Every entry point runs a command through ``edn_core.cqrs.send`` (decision 60): outside the
tests, no module calls a registered handler function itself."""

import ast
from pathlib import Path

from edn_core.cqrs import messages

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = {".venv", "build", "data", "tests", "migrations", ".git"}


def _sources():
    for path in ROOT.rglob("*.py"):
        parts = set(path.relative_to(ROOT).parts)
        if not parts & SKIPPED:
            yield path


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _direct_calls(path: Path, handlers: set[tuple[str, str]]) -> list[str]:
    """Calls of a handler by its name: imported (``f(...)``), through its module
    (``commands.f(...)``), or from its own module."""
    tree = ast.parse(path.read_text(), str(path))
    names = {name: (_module_name(path), name) for _, name in handlers}  # its own module
    modules: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = (node.module, alias.name)
                modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                modules[alias.asname or alias.name] = alias.name
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target = None
        if isinstance(node.func, ast.Name):
            target = names.get(node.func.id)
        elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            module = modules.get(node.func.value.id)
            target = (module, node.func.attr) if module else None
        if target in handlers:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} calls {target[1]}")
    return found


def test_no_module_calls_a_command_handler_itself():
    handlers = {(h.__module__, h.__name__) for h in messages._HANDLERS.values()}
    assert ("orders.commands", "settle_orders") in handlers  # the apps' handlers are loaded
    calls = [call for path in _sources() for call in _direct_calls(path, handlers)]
    assert not calls, "send the command instead: " + "; ".join(calls)
