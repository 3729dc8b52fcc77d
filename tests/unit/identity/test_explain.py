"""Explanations name the links that join two records, strongest first, and fail clearly otherwise."""

from __future__ import annotations

import pytest

from core.errors import InvalidInputError, NotFoundError
from identity.explain import component_json, evidence_path, parse_node
from identity.graph import identifier_node, record_node
from identity.records import identifiers
from identity.resolve import resolve
from tests.unit.identity.test_resolve import records


def resolution():  # type: ignore[no-untyped-def]
    frame = records([
        {"record_id": "users:1", "source": "users", "record_key": "1", "user_id": "1", "email": "ann@example.com",
         "first_name": "Ann", "last_name": "Lee", "street": "1 Elm St", "postcode": "10001", "device_id": None},
        {"record_id": "orders:7", "source": "orders", "record_key": "7", "user_id": "1", "device_id": "d-9"},
        {"record_id": "market:3", "source": "orders", "record_key": "m3", "first_name": "Ann", "last_name": "Lee",
         "street": "1 Elm Street", "postcode": "10001"},
        {"record_id": "orders:8", "source": "orders", "record_key": "8", "email": "bob@example.com"},
    ])  # fmt: skip
    return resolve(frame, identifiers(frame, default_region="US"), max_people=3, default_region="US", build_id="b")


def test_the_path_between_two_records_names_each_link_and_its_rule() -> None:
    graph = resolution().graph
    steps = evidence_path(graph, record_node("orders:7"), record_node("users:1"))
    assert steps == [
        {"from": "record:orders:7", "to": "user_id:1", "rule": "exact:user_id"},
        {"from": "user_id:1", "to": "record:users:1", "rule": "exact:user_id"},
    ]


def test_a_path_through_an_identifier_and_a_name_and_address_key() -> None:
    graph = resolution().graph
    steps = evidence_path(graph, identifier_node("email", "ann@example.com"), record_node("market:3"))
    assert steps[0] == {"from": "email:ann@example.com", "to": "record:users:1", "rule": "exact:email"}
    assert {step["rule"] for step in steps[1:]} <= {"exact:name_address", "probabilistic"}


def test_records_of_two_customers_have_no_path() -> None:
    graph = resolution().graph
    with pytest.raises(NotFoundError, match="different customers"):
        evidence_path(graph, record_node("orders:8"), record_node("users:1"))
    with pytest.raises(NotFoundError, match="not in the identity graph"):
        evidence_path(graph, record_node("nope"), record_node("users:1"))


def test_a_customer_graph_lists_its_nodes_and_edges() -> None:
    graph = resolution().graph
    found = component_json(graph, record_node("users:1"))
    ids = {node["id"] for node in found["nodes"]}
    assert {"record:users:1", "record:orders:7", "record:market:3", "email:ann@example.com", "user_id:1"} <= ids
    assert "record:orders:8" not in ids
    assert all(edge["from"] in ids and edge["to"] in ids and edge["rule"] for edge in found["edges"])


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("record:users:42", ("record", "users:42")),
        ("record:devices:dev-1|anonymous", ("record", "devices:dev-1|anonymous")),
        ("email: Ann.Lee+promo@Example.com ", ("identifier", "email", "ann.lee@example.com")),
        ("phone:(415) 555-0134", ("identifier", "phone", "+14155550134")),
        ("user_id:042", ("identifier", "user_id", "42")),
    ],
)
def test_parse_node_normalises_identifiers_as_ingestion_does(text: str, node: tuple[str, ...]) -> None:
    assert parse_node(text, default_region="US") == node


@pytest.mark.parametrize("text", ["users:42", "record:", "fax:123", "email:not-an-address", "phone:12"])
def test_parse_node_rejects_what_names_no_node(text: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_node(text, default_region="US")
