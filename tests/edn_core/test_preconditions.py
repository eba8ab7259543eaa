import pytest

from edn_core.cqrs.preconditions import (
    ANY_VERSION,
    etag,
    expected_version,
    matches_if_none_match,
)
from edn_core.cqrs.problems import PreconditionFailed, PreconditionRequired


def test_etag_is_strong_and_quoted():
    assert etag(7) == '"7"'


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_if_match_is_precondition_required(header):
    with pytest.raises(PreconditionRequired):
        expected_version(header)


@pytest.mark.parametrize(
    ("header", "version"), [('"3"', 3), (' "3" ', 3), ("*", ANY_VERSION), ('"3", W/"4"', 3)]
)
def test_if_match_yields_expected_version(header, version):
    assert expected_version(header) == version


@pytest.mark.parametrize("header", ['W/"3"', "3", '"abc"', '"1", "2"', "garbage"])
def test_unusable_if_match_is_precondition_failed(header):
    with pytest.raises(PreconditionFailed):
        expected_version(header)


def test_if_none_match_uses_weak_comparison():
    assert matches_if_none_match('W/"2"', 2)
    assert matches_if_none_match('"1", "2"', 2)
    assert matches_if_none_match("*", 9)
    assert not matches_if_none_match('"1"', 2)
    assert not matches_if_none_match(None, 2)
