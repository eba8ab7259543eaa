"""ETags derived from aggregate versions, and the If-Match / If-None-Match checks."""

from __future__ import annotations

import re

from edn_core.cqrs.problems import PreconditionFailed, PreconditionRequired

__all__ = ["ANY_VERSION", "etag", "expected_version", "matches_if_none_match"]

ANY_VERSION = None
_STRONG_ETAG = re.compile(r'^"(\d+)"$')
_NEAR_ETAG = re.compile(r'^(?:W/)?"?([0-9]{1,18})"?$')  # 3, W/"3", "3: what was meant


def etag(version: int) -> str:
    """Return the strong ETag of a resource at ``version``."""
    return f'"{version}"'


def _listed(header: str) -> list[str]:
    return [part.strip() for part in header.split(",") if part.strip()]


def expected_version(if_match: str | None) -> int | None:
    """Return the version an If-Match header pins, or :data:`ANY_VERSION` for ``*``.

    Raise 428 when the header is absent and 412 when it names no version this API issued
    (weak ETags never match: If-Match uses the strong comparison of RFC 9110).
    """
    if if_match is None or not if_match.strip():
        raise PreconditionRequired()
    tags = _listed(if_match)
    if tags == ["*"]:
        return ANY_VERSION
    versions = {int(m.group(1)) for m in map(_STRONG_ETAG.match, tags) if m}
    if len(versions) != 1:
        raise PreconditionFailed(
            _unusable(tags)
            if not versions
            else "If-Match lists several versions; send the one your change is based on."
        )
    return versions.pop()


def _unusable(tags: list[str]) -> str:
    """Say how to write the ETag: quoted, as the ETag header gave it (``3`` -> ``"3"``)."""
    meant = next((m.group(1) for m in map(_NEAR_ETAG.match, tags) if m), None)
    example = f'send If-Match: "{meant}"' if meant else 'e.g. If-Match: "3"'
    return (
        "If-Match must carry exactly one ETag issued by this API, as the ETag header gave it "
        f"(quotes included, no W/): {example}."
    )


def matches_if_none_match(if_none_match: str | None, version: int) -> bool:
    """Tell whether a conditional GET may answer 304 Not Modified."""
    if not if_none_match:
        return False
    tags = {tag.removeprefix("W/") for tag in _listed(if_none_match)}
    return "*" in tags or etag(version) in tags
