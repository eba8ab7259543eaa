"""The README's runnable shell blocks, and a terminal that runs them one after another.

A block meant to run is a fenced ``bash`` block right after an HTML comment naming it::

    <!-- readme-test: place-order -->
    ```bash
    ...
    ```

Blocks run in order, each in its own ``bash -euo pipefail``, as if typed into one terminal:
the shell variables the README assigns (``TOKEN``, ``ORDER``...) carry from one to the next.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Answer", "Terminal", "answer", "assigned_names", "runnable_blocks"]

_BLOCK = re.compile(r"<!-- readme-test: ([a-z0-9-]+) -->\n```bash\n(.*?)```", re.DOTALL)
_ASSIGNED = re.compile(r"^(?:export\s+)?([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def runnable_blocks(readme: Path) -> list[tuple[str, str]]:
    """Return ``(name, code)`` of each marked block, in the README's order."""
    return _BLOCK.findall(readme.read_text())


@dataclass
class Terminal:
    """One terminal in ``folder``: runs blocks with ``env`` and keeps their variables."""

    folder: Path
    env: dict[str, str]
    names: list[str]
    values: dict[str, str] = field(default_factory=dict)

    def run(self, code: str) -> str:
        """Run ``code``; return what it printed (its stdout); fail on a non-zero exit."""
        state = self.folder / ".readme-terminal"
        script = "\n".join(
            [
                f"if [ -f {state} ]; then source {state}; fi",
                code,
                f"declare -p {' '.join(self.names)} > {state} 2>/dev/null || true",
            ]
        )
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        self.values = self._read(state)
        return done.stdout

    def _read(self, state: Path) -> dict[str, str]:
        printed = subprocess.run(
            [
                "bash",
                "-c",
                f"source {state}; for n in {' '.join(self.names)}; do "
                'printf "%s\\0" "${!n:-}"; done',
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return dict(zip(self.names, printed.stdout.split("\0"), strict=False))


def assigned_names(blocks: list[tuple[str, str]]) -> list[str]:
    return sorted({name for _, code in blocks for name in _ASSIGNED.findall(code)})


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: object


def answer(printed: str) -> Answer:
    """Read what ``curl -si`` printed: the status line, the headers, the JSON body."""
    head, _, body = printed.replace("\r\n", "\n").partition("\n\n")
    status_line, *lines = head.strip().splitlines()
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(status_line.split()[1]), headers, json.loads(body) if body.strip() else None)
