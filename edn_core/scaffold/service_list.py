"""Add a service app to the project's one list, ``SERVICE_APPS`` in ``<project>/services.py``.

Only the lines of that assignment are rewritten (found with :mod:`ast`): comments, the other
names and the rest of the file stay as they are.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.core.management.base import CommandError

__all__ = ["LIST_NAME", "add_service"]

LIST_NAME = "SERVICE_APPS"
LINE_LENGTH = 100  # ruff's, in the projects the platform creates


def _assignment(tree: ast.Module, path: Path) -> ast.expr:
    found = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and node.value is not None
        and any(
            isinstance(target, ast.Name) and target.id == LIST_NAME
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
    ]
    if len(found) != 1:
        raise CommandError(f"{path} must assign {LIST_NAME} exactly once (found {len(found)}).")
    return found[0]


def _render(names: list[str], brackets: str, indent: str, room: int | None) -> str:
    """One line if it fits in ``room`` (None: keep several lines), else one name a line."""
    opening, closing = brackets
    quoted = [f'"{name}"' for name in names]
    one_line = opening + ", ".join(quoted) + ("," if len(quoted) == 1 else "") + closing
    if room is not None and len(one_line) <= room:
        return one_line
    inner = "".join(f"{indent}    {item},\n" for item in quoted)
    return f"{opening}\n{inner}{indent}{closing}"


def add_service(path: Path, name: str) -> str:
    """Append ``name`` to ``SERVICE_APPS`` in the file at ``path``; return the old text.

    Appended, so the services already listed keep their place (their local ports follow it).
    """
    text = path.read_text()
    value = _assignment(ast.parse(text), path)
    if not isinstance(value, ast.Tuple | ast.List):
        raise CommandError(
            f"{LIST_NAME} in {path} is not a literal tuple or list: add {name!r} to it by hand, "
            "then run `python manage.py makemigrations` and `python manage.py edn_wiring write`."
        )
    try:
        names = list(ast.literal_eval(value))
    except ValueError:
        raise CommandError(f"{LIST_NAME} in {path} must list app names as strings.") from None
    if name in names:
        raise CommandError(f"{name!r} is already in {LIST_NAME} ({path}).")
    lines = text.splitlines(keepends=True)
    first, last = value.lineno - 1, value.end_lineno - 1
    # ast's columns count UTF-8 bytes
    before = lines[first].encode()[: value.col_offset].decode()
    after = lines[last].encode()[value.end_col_offset :].decode()
    brackets = "()" if isinstance(value, ast.Tuple) else "[]"
    indent = before[: len(before) - len(before.lstrip())]
    room = LINE_LENGTH - len(before) - len(after.rstrip("\n")) if first == last else None
    rendered = _render([*names, name], brackets, indent, room)
    lines[first : last + 1] = [before + rendered + after]
    path.write_text("".join(lines))
    return text
