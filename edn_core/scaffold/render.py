"""Render the service template (``service_template/``) for a new app, with Django's own
template machinery (what ``startapp --template`` uses), into a scratch folder."""

from __future__ import annotations

import ast
import io
import json
from collections import Counter
from pathlib import Path

from django.core.management.base import CommandError
from django.core.management.templates import TemplateCommand

from edn_core.scaffold.names import camel_case, created_topic, handler_name

__all__ = ["TEMPLATE", "render_service"]

TEMPLATE = Path(__file__).resolve().parent / "service_template"


def context(name: str, topics: list[str]) -> dict:
    """What the templates use besides Django's ``app_name`` and ``camel_case_app_name``."""
    camel = camel_case(name)
    return {
        "lower_camel_app_name": camel[0].lower() + camel[1:],
        "verbose_name": name.replace("_", " "),
        "url_path": name.replace("_", "-"),
        "created_topic": created_topic(name),
        "handlers": [(handler_name(topic), topic) for topic in topics],
        "handled_topics": json.dumps(topics),
    }


def render_service(name: str, topics: list[str], scratch: Path) -> tuple[Path, Path]:
    """Render the app into ``scratch/<name>`` and its tests into ``scratch/tests/<name>``,
    with its event schema released as version 1; return both folders."""
    command = TemplateCommand(stdout=io.StringIO(), stderr=io.StringIO())
    command.handle(
        "app",
        name,
        str(scratch),
        template=str(TEMPLATE),
        extensions=["py", "json"],
        files=[],
        verbosity=0,
        **context(name, topics),
    )
    app, tests = scratch / name, scratch / "tests" / name
    for module in [*app.rglob("*.py"), *tests.rglob("*.py")]:
        text = module.read_text().rstrip()  # what template tags leave at the end
        module.write_text(text + "\n" if text else "")
        _check_names(module, name)
    topic = created_topic(name)
    schema = (app / "schemas" / "created.json").rename(app / "schemas" / f"{topic}.json")
    # its released history, version 1, as `manage.py edn_schemas release` writes it
    released = app / "schemas" / "released" / topic / "1.json"
    released.parent.mkdir(parents=True)
    released.write_text(json.dumps(json.loads(schema.read_text()), indent=2) + "\n")
    return app, tests


def _check_names(module: Path, name: str) -> None:
    """Refuse a name whose classes would shadow a name the template imports or defines
    (``command`` would make a class ``Command`` beside edn_core.cqrs's)."""
    try:
        tree = ast.parse(module.read_text(), str(module))
    except SyntaxError as error:  # a template broken by the name it was given
        raise CommandError(
            f"{name!r} does not make valid Python ({error}): pick another."
        ) from None
    bound = Counter()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ClassDef | ast.FunctionDef):
            bound[node.name] += 1
        elif isinstance(node, ast.Assign):
            bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
    twice = sorted(bound_name for bound_name, count in bound.items() if count > 1)
    if twice:
        raise CommandError(
            f"{name!r} (with the topics given) would define {', '.join(twice)} twice in "
            f"{module.name}: pick another name."
        )
