"""Cannot-links cut a component at its weakest evidence, never the whole component."""

from __future__ import annotations

from datetime import UTC, datetime

import networkx as nx
import polars as pl

from identity.constraints import CannotLink, enforce, limit_constraints
from identity.graph import identifier_node, record_node
from identity.records import identifiers
from identity.resolve import resolve
from tests.unit.identity.test_resolve import partition, records


def test_a_cut_goes_through_the_cheapest_links() -> None:
    graph = nx.Graph()
    a, b, c = record_node("a"), record_node("b"), record_node("c")
    email, device = identifier_node("email", "x@y.com"), identifier_node("device_id", "d1")
    graph.add_edge(a, email, rule="exact:email", capacity=4.0)
    graph.add_edge(b, email, rule="exact:email", capacity=4.0)
    graph.add_edge(b, device, rule="exact:device_id", capacity=2.0)
    graph.add_edge(c, device, rule="exact:device_id", capacity=2.0)
    cuts = enforce(graph, [CannotLink("a", "c", "manual")])
    assert [edge[2] for edge in cuts[0].edges] == ["exact:device_id"]
    assert nx.has_path(graph, a, b) and not nx.has_path(graph, a, c), "a and b keep their e-mail link"


def test_a_constraint_already_met_cuts_nothing() -> None:
    graph = nx.Graph([(record_node("a"), identifier_node("email", "x"))])
    graph.add_node(record_node("b"))
    assert enforce(graph, [CannotLink("a", "b", "manual"), CannotLink("a", "zz", "manual")]) == []


def test_a_manual_cannot_link_splits_a_customer_and_keeps_the_rest_linked() -> None:
    rows = [
        {"record_id": "users:1", "source": "users", "record_key": "1", "user_id": "1", "email": "a@x.com"},
        {"record_id": "orders:1", "source": "orders", "record_key": "o1", "user_id": "1", "phone": "+14155550101"},
        {"record_id": "orders:2", "source": "orders", "record_key": "o2", "phone": "+14155550101"},
    ]
    frame = records(rows)
    found = identifiers(frame, default_region="US")
    kept = resolve(frame, found, max_people=3, default_region="US", build_id="b")
    assert partition(kept) == {frozenset({"1", "o1", "o2"})}
    split = resolve(frame, found, max_people=3, default_region="US", build_id="b",
                    cannot_links=[CannotLink("users:1", "orders:2", "manual")])  # fmt: skip
    assert partition(split) == {frozenset({"1", "o1"}), frozenset({"o2"})}
    assert split.cuts.select("reason", "rule").rows() == [("manual", "exact:phone")]


def kellys(michael_street: str | None) -> pl.DataFrame:
    """Two accounts of one family, and a guest order with the family e-mail and Michael's phone."""
    return records([
        {"record_id": "users:1", "source": "users", "record_key": "1", "user_id": "1", "email": "kellys@x.com",
         "first_name": "Katherine", "last_name": "Kelly", "street": "1 Elm St", "postcode": "10001"},
        {"record_id": "users:2", "source": "users", "record_key": "2", "user_id": "2", "phone": "+14155550102",
         "first_name": "Michael", "last_name": "Kelly", "street": michael_street, "postcode": "10001"},
        {"record_id": "orders:9", "source": "orders", "record_key": "o9", "email": "kellys@x.com",
         "phone": "+14155550102"},
    ])  # fmt: skip


def resolve_all(frame: pl.DataFrame):  # type: ignore[no-untyped-def]
    return resolve(frame, identifiers(frame, default_region="US"), max_people=3, default_region="US", build_id="b")


def test_two_accounts_joined_by_a_guest_order_are_parted_when_they_are_two_people() -> None:
    """The guest order carries no name; the accounts do, and are two members of one family."""
    resolution = resolve_all(kellys(michael_street=None))
    groups = partition(resolution)
    assert len(groups) == 2 and not any({"1", "2"} <= group for group in groups)
    assert resolution.cuts["reason"].unique().to_list() == ["household"]
    assert resolution.membership.filter(pl.col("record_id") == "orders:9").height == 1, "the order stays somewhere"


def test_a_family_e_mail_does_not_pick_a_member_for_a_nameless_order() -> None:
    """Both accounts at one address with different first names: their e-mail and phone name the household.

    Either member could have placed the order, so it is attributed to neither.
    """
    resolution = resolve_all(kellys(michael_street="1 Elm St"))
    assert partition(resolution) == {frozenset({"1"}), frozenset({"2"})}
    assert resolution.cuts.is_empty()


def test_a_customer_holding_two_loyalty_cards_is_two_people() -> None:
    """A family phone typed at the till joins a member's till orders to another member's account."""
    frame = records([
        {"record_id": "users:1", "source": "users", "record_key": "1", "user_id": "1", "loyalty_id": "LOY-000111",
         "phone": "+14155550103"},
        {"record_id": "orders:1", "source": "orders", "record_key": "o1", "loyalty_id": "LOY-000222",
         "phone": "+14155550103"},
        {"record_id": "orders:2", "source": "orders", "record_key": "o2", "loyalty_id": "LOY-000222"},
    ])  # fmt: skip
    found = identifiers(frame, default_region="US")
    resolution = resolve(frame, found, max_people=3, default_region="US", build_id="b")
    assert partition(resolution) == {frozenset({"1"}), frozenset({"o1", "o2"})}
    assert resolution.cuts.select("reason", "rule").rows() == [("more_than_1_loyalty_id", "exact:phone")]
    unlimited = resolve(frame, found, max_people=3, default_region="US", build_id="b", limits={})
    assert partition(unlimited) == {frozenset({"1", "o1", "o2"})}


def test_an_account_whose_loyalty_card_was_replaced_keeps_its_till_orders() -> None:
    """Both cards are on the account's own records (two versions): one person, not two."""
    frame = records([
        {"record_id": "users:1", "source": "users", "record_key": "1", "user_id": "1", "loyalty_id": "LOY-111111",
         "seen_at": datetime(2025, 1, 1, tzinfo=UTC)},
        {"record_id": "users:1", "source": "users", "record_key": "1", "user_id": "1", "loyalty_id": "LOY-222222",
         "seen_at": datetime(2026, 1, 1, tzinfo=UTC)},
        {"record_id": "orders:9", "source": "orders", "record_key": "o9", "loyalty_id": "LOY-111111"},
        {"record_id": "orders:10", "source": "orders", "record_key": "o10", "loyalty_id": "LOY-222222"},
    ])  # fmt: skip
    resolution = resolve(frame, identifiers(frame, default_region="US"), max_people=3, default_region="US",
                         build_id="b")  # fmt: skip
    assert partition(resolution) == {frozenset({"1", "o9", "o10"})} and resolution.cuts.is_empty()


def test_limit_constraints_come_in_one_order_whatever_order_a_component_iterates_in() -> None:
    """A set iterates in a per-process order; constraints are cut one after another, so theirs must not vary."""
    graph = nx.Graph()
    for i, record in enumerate(("a", "b")):
        graph.add_edge(record_node(record), identifier_node("loyalty_id", f"LOY-{i}"))
        graph.add_edge(record_node(record), identifier_node("device_id", f"d{i}"))
    nodes = list(graph.nodes)
    limits = {"loyalty_id": 1, "device_id": 1}
    orders = {tuple(limit_constraints(graph, [order], limits)) for order in (nodes, nodes[::-1], nodes[1:] + nodes[:1])}
    assert len(orders) == 1 and len(orders.pop()) == 2
