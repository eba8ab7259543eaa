"""How the admin shows schema documents: highlighted JSON, side-by-side diffs, verdicts.

Highlighting happens on the server (Pygments: HTML with token classes, coloured by
``static/schema_registry/admin.css``): the admin's Content-Security-Policy loads scripts and
styles from this origin only, so no highlighting library comes from a CDN.
"""

import difflib
import json
from dataclasses import dataclass
from itertools import zip_longest

from django.utils.safestring import SafeString, mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import JsonLexer

from schema_registry import domain

_FORMATTER = HtmlFormatter(nowrap=True)  # one <span class="…"> per token, balanced per line
MODE_MEANINGS = {
    "NONE": "nothing is checked",
    "BACKWARD": "consumers on the newer version read events of the older",
    "FORWARD": "consumers on the older version read events of the newer",
    "FULL": "consumers on either version read events of the other",
}


def pretty(document: object) -> str:
    """The text the admin shows and diffs: keys sorted, as the registry compares documents
    (PostgreSQL's jsonb keeps no key order anyway), two-space indents."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def highlighted_lines(text: str) -> list[SafeString]:
    """Each line of JSON ``text`` as HTML with token classes (``nt`` key, ``s2`` string…)."""
    if not text:
        return []
    html = highlight(text, JsonLexer(), _FORMATTER)
    # JSON escapes line breaks inside strings: every "\n" ends a line of the text.
    return [mark_safe(line) for line in html.rstrip("\n").split("\n")]


def highlighted(document: object) -> SafeString:
    return mark_safe("\n".join(highlighted_lines(pretty(document))))


def meaning(mode: str) -> str:
    base = mode.removesuffix("_TRANSITIVE")
    scope = "; registering checks every version" if mode.endswith("_TRANSITIVE") else ""
    return MODE_MEANINGS[base] + scope


@dataclass(frozen=True)
class Side:
    number: int | None  # line number; None: nothing on this side
    html: str = ""


@dataclass(frozen=True)
class Row:
    kind: str  # "same", "changed", "removed" (left only), "added" (right only) or "fold"
    left: Side
    right: Side
    folded: int = 0  # a "fold": how many unchanged lines it stands for


@dataclass(frozen=True)
class Diff:
    rows: list[Row]
    added: int
    removed: int

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed)


def side_by_side(old: object, new: object, context: int | None = None) -> Diff:
    """Both documents line by line, aligned, each line highlighted and marked by what changed;
    with ``context``, unchanged lines farther than that from a change are folded."""
    texts = [pretty(old).split("\n"), pretty(new).split("\n")]
    left, right = (highlighted_lines("\n".join(lines)) for lines in texts)
    matcher = difflib.SequenceMatcher(None, *texts, autojunk=False)
    whole = context is None
    groups = [matcher.get_opcodes()] if whole else matcher.get_grouped_opcodes(context)
    rows, added, removed, shown = [], 0, 0, 0  # shown: left lines up to here are accounted for
    for group in groups:
        if group[0][1] > shown:
            rows.append(Row("fold", Side(None), Side(None), folded=group[0][1] - shown))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                pairs = zip(range(i1, i2), range(j1, j2), strict=True)
                rows += [Row("same", Side(i + 1, left[i]), Side(j + 1, right[j])) for i, j in pairs]
                continue
            removed, added = removed + i2 - i1, added + j2 - j1
            for i, j in zip_longest(range(i1, i2), range(j1, j2)):
                old_side = Side(None) if i is None else Side(i + 1, left[i])
                new_side = Side(None) if j is None else Side(j + 1, right[j])
                kind = "added" if i is None else "removed" if j is None else "changed"
                rows.append(Row(kind, old_side, new_side))
        shown = group[-1][2]
    if len(left) > shown:
        rows.append(Row("fold", Side(None), Side(None), folded=len(left) - shown))
    return Diff(rows, added, removed)


@dataclass(frozen=True)
class Verdict:
    compatible: bool
    reasons: list[str]
    summary: str
    adds: int | None = None  # the version registering the checked document would add


def pair_verdict(mode: str, older: tuple[int, dict], newer: tuple[int, dict]) -> Verdict:
    """Whether version ``newer`` may follow version ``older`` (each ``(number, document)``)
    under ``mode``, compared with that one version (transitive or not)."""
    (old_number, old_doc), (new_number, new_doc) = older, newer
    found = domain.incompatibilities("", mode, new_doc, [old_doc], [old_number])
    reasons = [r.message for r in found]
    word = "incompatible" if reasons else "compatible"
    summary = f"Version {new_number} is {word} with version {old_number} under {mode}"
    return Verdict(not reasons, reasons, f"{summary} ({meaning(mode)}).")
