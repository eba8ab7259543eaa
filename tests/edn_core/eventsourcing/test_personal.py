"""Declaring an event's personal data (pure Python, no database)."""

import uuid
from dataclasses import dataclass

import pytest

from edn_core.domain import DomainEvent
from edn_core.eventsourcing.personal import (
    REDACTED,
    PersonalData,
    personal_data,
    personal_data_of,
)


@dataclass(frozen=True)
class Card:
    holder: str
    number: str


HIDDEN_CARD = Card(REDACTED, REDACTED)


@personal_data(subject="customer_id", card=HIDDEN_CARD, nickname=REDACTED)
@dataclass(frozen=True, kw_only=True)
class CardAdded(DomainEvent):
    customer_id: uuid.UUID
    card: Card
    nickname: str | None = None
    limit: int = 0


@dataclass(frozen=True, kw_only=True)
class LimitRaised(DomainEvent):
    limit: int


def test_the_declaration_is_kept_on_the_event_class():
    declared = personal_data_of(CardAdded)
    assert declared == PersonalData("customer_id", {"card": HIDDEN_CARD, "nickname": REDACTED})
    assert dict(declared.fields) == {"card": HIDDEN_CARD, "nickname": REDACTED}


def test_an_event_without_a_declaration_has_none():
    assert personal_data_of(LimitRaised) is None


def test_a_subclass_inherits_the_declaration():
    @dataclass(frozen=True, kw_only=True)
    class CardAddedAgain(CardAdded):
        pass

    assert personal_data_of(CardAddedAgain) is personal_data_of(CardAdded)


def test_the_declared_fields_cannot_be_changed_afterwards():
    with pytest.raises(TypeError):
        personal_data_of(CardAdded).fields["limit"] = 0  # type: ignore[index]


def test_unknown_field_names_are_refused():
    with pytest.raises(ValueError, match="no field cvv"):
        personal_data(subject="customer_id", cvv="")(CardAdded)
    with pytest.raises(ValueError, match="no field owner_id"):
        personal_data(subject="owner_id", card=HIDDEN_CARD)(CardAdded)


def test_the_subject_field_cannot_itself_be_sealed():
    with pytest.raises(ValueError, match="names the subject"):
        personal_data(subject="customer_id", customer_id=uuid.UUID(int=0))


def test_at_least_one_field_is_declared():
    with pytest.raises(ValueError, match="at least one field"):
        personal_data(subject="customer_id")


@pytest.mark.parametrize(
    ("field", "redacted"),
    [("card", REDACTED), ("card", None), ("nickname", 0), ("limit", "0")],
)
def test_a_redacted_value_of_another_type_is_refused(field, redacted):
    """The redacted value replaces the field on read: it must decode as the field's type."""
    with pytest.raises(TypeError, match=f"CardAdded.{field}"):
        personal_data(subject="customer_id", **{field: redacted})(CardAdded)


def test_an_optional_field_may_read_as_none_once_forgotten():
    personal_data(subject="customer_id", nickname=None)(_fresh_card_event())


def test_only_dataclasses_can_declare():
    class NotADataclass:
        customer_id = None

    with pytest.raises(TypeError, match="not a dataclass"):
        personal_data(subject="customer_id", card=HIDDEN_CARD)(NotADataclass)


def _fresh_card_event() -> type:
    @dataclass(frozen=True, kw_only=True)
    class NicknameSet(DomainEvent):
        customer_id: uuid.UUID
        nickname: str | None

    return NicknameSet
