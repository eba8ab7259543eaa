"""The suite's own scheduling list (tests/conftest.py) names files that exist."""

from pathlib import Path

from tests.conftest import LONG_FILES

ROOT = Path(__file__).resolve().parent.parent


def test_every_long_file_scheduled_first_exists():
    """Proves: a renamed or removed long test file is noticed (it would quietly go back to
    being scheduled last)."""
    missing = [path for path in LONG_FILES if not (ROOT / path).is_file()]
    assert not missing, f"tests/conftest.py LONG_FILES names missing files: {missing}"
