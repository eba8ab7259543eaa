"""Event-sourced aggregates, the codec and upcasters: pure Python, no database."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from edn_core.domain import DomainEvent, InvalidState, ValueObject
from edn_core.eventsourcing import (
    EventCodec,
    EventSourcedAggregate,
    StoredEvent,
    Upcasters,
    applies,
)


@dataclass(frozen=True)
class Address(ValueObject):
    street: str
    city: str


@dataclass(frozen=True, kw_only=True)
class CartOpened(DomainEvent):
    owner: str
    address: Address


@dataclass(frozen=True, kw_only=True)
class ItemAdded(DomainEvent):
    sku: str
    price: Decimal
    quantity: int = 1


@dataclass(frozen=True, kw_only=True)
class CartClosed(DomainEvent):
    reason: str | None = None


class Cart(EventSourcedAggregate):
    snapshot_every = 3

    def __init__(self, id: uuid.UUID) -> None:
        super().__init__(id)
        self.owner, self.items, self.open = "", [], False

    @classmethod
    def open_for(cls, owner: str, address: Address) -> "Cart":
        cart = cls(uuid.uuid4())
        cart.emit(CartOpened(aggregate_id=cart.id, owner=owner, address=address))
        return cart

    def add(self, sku: str, price: Decimal) -> None:
        if not self.open:
            raise InvalidState("the cart is closed")
        self.emit(ItemAdded(aggregate_id=self.id, sku=sku, price=price))

    def close(self) -> None:
        self.emit(CartClosed(aggregate_id=self.id))

    @applies(CartOpened)
    def _opened(self, event: CartOpened) -> None:
        self.owner, self.open = event.owner, True

    @applies(ItemAdded)
    def _added(self, event: ItemAdded) -> None:
        self.items.append((event.sku, event.price * event.quantity))

    @applies(CartClosed)
    def _closed(self, event: CartClosed) -> None:
        self.open = False

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "items": [[s, str(p)] for s, p in self.items],
            "open": self.open,
        }

    @classmethod
    def from_snapshot(cls, id, state):
        cart = cls(id)
        cart.owner, cart.open = state["owner"], state["open"]
        cart.items = [(s, Decimal(p)) for s, p in state["items"]]
        return cart


HOME = Address(street="1 Main St", city="Springfield")


def test_state_changes_only_by_applying_the_events_it_emits():
    cart = Cart.open_for("ann", HOME)
    cart.add("apple", Decimal("1.50"))
    assert (cart.owner, cart.items, cart.open) == ("ann", [("apple", Decimal("1.50"))], True)
    assert [type(e) for e in cart.pending_events] == [CartOpened, ItemAdded]
    assert (cart.version, cart.current_version) == (0, 2)
    cart.saved()
    assert (cart.version, cart.current_version, cart.pending_events) == (2, 2, ())


def test_replaying_the_history_gives_the_same_state_and_version():
    cart = Cart.open_for("ann", HOME)
    cart.add("apple", Decimal("1.50"))
    cart.close()
    again = Cart.from_history(cart.id, cart.pending_events)
    assert (again.owner, again.items, again.open, again.version) == ("ann", cart.items, False, 3)
    assert again.pending_events == ()
    with pytest.raises(InvalidState):
        again.add("pear", Decimal("2"))


def test_a_snapshot_replaces_the_events_before_it():
    cart = Cart.open_for("ann", HOME)
    cart.add("apple", Decimal("1.50"))
    cart.add("pear", Decimal("2.00"))
    cart.saved()
    assert cart.wants_snapshot(previous_version=0)  # 0 -> 3 crossed a multiple of 3
    later = ItemAdded(aggregate_id=cart.id, sku="plum", price=Decimal("0.75"), quantity=2)
    loaded = Cart.from_history(cart.id, [later], snapshot=(3, cart.to_snapshot()))
    assert loaded.version == 4 and loaded.items[-1] == ("plum", Decimal("1.50"))
    assert not loaded.wants_snapshot(previous_version=3)


def test_an_event_without_an_applier_is_refused():
    class Other(DomainEvent):
        pass

    with pytest.raises(TypeError, match="no @applies method for Other"):
        Cart(uuid.uuid4()).emit(Other(aggregate_id=uuid.uuid4()))


def test_the_codec_round_trips_nested_values_decimals_uuids_and_times():
    codec = EventCodec(CartOpened, ItemAdded, CartClosed)
    at = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    event = ItemAdded(aggregate_id=uuid.uuid4(), sku="apple", price=Decimal("1.10"), occurred_at=at)
    name, version, data = codec.encode(event)
    assert (name, version, data["price"], data["occurred_at"]) == (
        "ItemAdded",
        1,
        "1.10",
        "2026-11-30T10:00:00+00:00",
    )
    stored = StoredEvent("cart-1", 1, name, version, data)
    assert codec.decode(stored) == event
    opened = CartOpened(aggregate_id=uuid.uuid4(), owner="ann", address=HOME)
    assert codec.decode(StoredEvent("cart-1", 1, *codec.encode(opened))) == opened
    with pytest.raises(LookupError):
        codec.decode(StoredEvent("cart-1", 1, "Unknown", 1, {}))


def test_upcasters_read_old_shapes_as_the_current_one():
    upcasters = Upcasters()

    @upcasters.register("ItemAdded", 1)
    def cents_to_price(data):  # v1 stored priceCents
        data["price"] = str(Decimal(data.pop("price_cents")) / 100)
        return data

    @upcasters.register("ItemAdded", 2)
    def default_quantity(data):  # v2 had no quantity
        data.setdefault("quantity", 1)
        return data

    codec = EventCodec(ItemAdded, upcasters=upcasters)
    old = {
        "aggregate_id": str(uuid.uuid4()),
        "sku": "apple",
        "price_cents": 150,
        "occurred_at": "2026-01-01T00:00:00+00:00",
    }
    event = codec.decode(StoredEvent("cart-1", 1, "ItemAdded", 1, old))
    assert (event.price, event.quantity) == (Decimal("1.5"), 1)
    assert old["price_cents"] == 150, "the stored data is never rewritten"
    assert codec.encode(event)[1] == 3  # written at the current version
    with pytest.raises(ValueError, match="newer than this code"):
        upcasters.upcast("ItemAdded", 4, {})
    with pytest.raises(ValueError, match="already has an upcaster"):
        upcasters.register("ItemAdded", 1)(lambda d: d)
    gap = Upcasters()
    gap.register("X", 2)(lambda d: d)
    with pytest.raises(LookupError, match="no upcaster from v1"):
        gap.upcast("X", 1, {})


@dataclass(frozen=True, kw_only=True)
class Shipped(DomainEvent):
    to: Address | None
    parcels: tuple[uuid.UUID | None, ...]
    notes: dict[str, Decimal]
    raw: Any = None
    carrier: str = "post"


def test_the_codec_decodes_every_declared_shape_none_and_defaults():
    parcel = uuid.uuid4()
    data = {
        "aggregate_id": str(uuid.uuid4()).upper(),
        "occurred_at": "2026-11-30T10:00:00+00:00",
        "to": None,
        "parcels": [str(parcel), None, "{" + str(parcel) + "}", f"urn:uuid:{parcel}"],
        "notes": {"weight": "1.5", "none": None},
        "raw": {"kept": ["as", "is"]},
        "gone": "a field this code no longer has",
    }  # no carrier: its default
    event = EventCodec(Shipped).decode(StoredEvent("s", 1, "Shipped", 1, data))
    assert event.parcels == (parcel, None, parcel, parcel) and event.to is None
    assert event.notes == {"weight": Decimal("1.5"), "none": None}
    assert (event.raw, event.carrier) == ({"kept": ["as", "is"]}, "post")
    assert event.aggregate_id == uuid.UUID(data["aggregate_id"])
    assert event.occurred_at == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    moved = {**data, "to": {"street": "1 Road", "city": "Leeds"}, "parcels": []}
    assert EventCodec(Shipped).decode(StoredEvent("s", 2, "Shipped", 1, moved)).to == HOME_LEEDS
    for wrong in ("not-a-uuid", str(parcel)[:-1] + "g", str(parcel) + "0"):
        with pytest.raises(ValueError):
            EventCodec(Shipped).decode(
                StoredEvent("s", 1, "Shipped", 1, {**data, "parcels": [wrong]})
            )


HOME_LEEDS = Address("1 Road", "Leeds")


def test_decode_all_upcasts_each_event_from_its_own_version():
    upcasters = Upcasters()
    upcasters.register("ItemAdded", 1)(lambda data: {**data, "price": data.pop("cents")})
    codec = EventCodec(ItemAdded, upcasters=upcasters)
    base = {"aggregate_id": str(uuid.uuid4()), "sku": "apple"}
    old = StoredEvent("c", 1, "ItemAdded", 1, {**base, "cents": "2"})
    new = StoredEvent("c", 2, "ItemAdded", 2, {**base, "price": "3"})
    assert [e.price for e in codec.decode_all([new, old, new])] == [3, 2, 3]
    with pytest.raises(ValueError, match="newer than this code"):
        codec.decode_all([new, StoredEvent("c", 3, "ItemAdded", 3, {**base, "price": "1"})])
