"""The API's resources beyond the profile, over the built sample through a real HTTP server:
paging orders and events, ETags, merged and split ids, account history, identity graphs and
evidence paths, overrides, stock lookups, and field-level validation problems."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from tests.conftest import ALL_KEY, NO_SCOPE_KEY, PII_KEY, READ_KEY, Built

PROBLEM = "application/problem+json"
EVERY = {"X-API-Key": ALL_KEY}


@pytest.fixture(scope="module")
def store(built: Built) -> Iterator[sqlite3.Connection]:
    """The serving store, read directly to choose test subjects and to check answers against."""
    connection = sqlite3.connect(str(built.settings.store.url).removeprefix("sqlite:///"))
    yield connection
    connection.close()


def one(store: sqlite3.Connection, sql: str) -> str:
    row = store.execute(sql).fetchone()
    assert row is not None, sql
    return str(row[0])


def walk(client: httpx.Client, path: str, **params: object) -> list[dict[str, object]]:
    """Every row of a paged list, following next_cursor."""
    rows: list[dict[str, object]] = []
    cursor = None
    while True:
        page = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}, headers=EVERY)
        assert page.status_code == 200, page.text
        rows += page.json()["data"]
        if (cursor := page.json()["next_cursor"]) is None:
            return rows


def test_orders_page_through_every_order_once_newest_first_and_filter(client: httpx.Client, store) -> None:  # type: ignore[no-untyped-def]
    customer = one(store, "SELECT customer_id FROM serving_customers WHERE order_count >= 5 AND pos_order_count > 0")
    profile = client.get(f"/v1/customers/{customer}", headers=EVERY).json()
    orders = walk(client, f"/v1/customers/{customer}/orders", limit=2)
    ids = [o["order_id"] for o in orders]
    assert len(ids) == len(set(ids)) == profile["metrics"]["order_count"]
    times = [str(o["order_ts"]) for o in orders]
    assert times == sorted(times, reverse=True)
    pos = walk(client, f"/v1/customers/{customer}/orders", source="pos", limit=1)
    assert len(pos) == profile["metrics"]["channels"]["pos"]["order_count"] and {o["source"] for o in pos} == {"pos"}
    middle = times[len(times) // 2]
    later = walk(client, f"/v1/customers/{customer}/orders", since=middle)
    assert [o["order_id"] for o in later] == ids[: times.index(middle) + 1]
    before = walk(client, f"/v1/customers/{customer}/orders", until=middle)
    assert len(before) + len(later) == len(ids)


def test_events_page_by_type(client: httpx.Client, store) -> None:  # type: ignore[no-untyped-def]
    customer = one(store, "SELECT customer_id FROM serving_customers ORDER BY event_count DESC")
    events = walk(client, f"/v1/customers/{customer}/events", limit=7)
    count = int(one(store, f"SELECT count(*) FROM serving_events WHERE customer_id = '{customer}'"))
    assert len({e["event_id"] for e in events}) == len(events) == count
    views = walk(client, f"/v1/customers/{customer}/events", type="view", limit=3)
    assert views and {e["event_type"] for e in views} == {"view"}
    assert len(views) == sum(e["event_type"] == "view" for e in events)
    masked = client.get(f"/v1/customers/{customer}/events", headers={"X-API-Key": READ_KEY}).json()["data"]
    assert all(e["device_id"] is None or "***" in e["device_id"] for e in masked)
    searches = client.get(f"/v1/customers/{customer}/events", params={"type": "search"}, headers=EVERY).json()["data"]
    assert any("?" in (e["page_url"] or "") for e in searches), "the sample's searches carry their query"
    masked_searches = client.get(
        f"/v1/customers/{customer}/events", params={"type": "search"}, headers={"X-API-Key": READ_KEY}
    ).json()["data"]
    assert all("?" not in (e["page_url"] or "") for e in masked_searches), "typed searches show without pii:read"


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WyJ4Il0", "WyIyMDI2IiwgIngiLCAieSJd"])
def test_a_cursor_this_api_did_not_give_is_422(client: httpx.Client, store, cursor: str) -> None:  # type: ignore[no-untyped-def]
    customer = one(store, "SELECT customer_id FROM serving_customers")
    response = client.get(f"/v1/customers/{customer}/orders", params={"cursor": cursor}, headers=EVERY)
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert "cursor" in response.json()["detail"]


def test_bad_parameters_get_422_naming_each_field(client: httpx.Client, store) -> None:  # type: ignore[no-untyped-def]
    customer = one(store, "SELECT customer_id FROM serving_customers")
    params = {"since": "2026-01-01T00:00:00", "limit": "0"}
    response = client.get(f"/v1/customers/{customer}/orders", params=params, headers=EVERY)
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert {e["field"] for e in response.json()["errors"]} == {"query.since", "query.limit"}


def test_a_profile_answers_304_to_its_own_etag_and_masking_changes_it(client: httpx.Client, store) -> None:  # type: ignore[no-untyped-def]
    customer = one(store, "SELECT customer_id FROM serving_customers WHERE email IS NOT NULL")
    first = client.get(f"/v1/customers/{customer}", headers={"X-API-Key": PII_KEY})
    etag = first.headers["etag"]
    again = client.get(f"/v1/customers/{customer}", headers={"X-API-Key": PII_KEY, "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and again.content == b""
    masked = client.get(f"/v1/customers/{customer}", headers={"X-API-Key": READ_KEY, "If-None-Match": etag})
    assert masked.status_code == 200 and masked.headers["etag"] != etag
    other = client.get(f"/v1/customers/{customer}", headers={"X-API-Key": PII_KEY, "If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.json() == first.json()


def test_a_merged_id_answers_308_and_a_split_id_300(client: httpx.Client, store) -> None:  # type: ignore[no-untyped-def]
    first, second = [r[0] for r in store.execute("SELECT customer_id FROM serving_customers LIMIT 2")]
    with store:
        store.execute("DELETE FROM serving_customer_redirects WHERE old_customer_id LIKE 'C-test%'")
        store.executemany(
            "INSERT INTO serving_customer_redirects VALUES (?, ?, ?, 1)",
            [("C-testmerged", first, "merged"), ("C-testsplit", first, "split"), ("C-testsplit", second, "split")],
        )
    merged = client.get("/v1/customers/C-testmerged/orders?limit=3", headers=EVERY, follow_redirects=False)
    assert merged.status_code == 308 and merged.headers["location"] == f"/v1/customers/{first}/orders?limit=3"
    followed = client.get("/v1/customers/C-testmerged", headers=EVERY, follow_redirects=True)
    assert followed.status_code == 200 and followed.json()["customer_id"] == first
    split = client.get("/v1/customers/C-testsplit", headers=EVERY)
    assert split.status_code == 300 and split.headers["content-type"] == PROBLEM
    assert split.json()["candidates"] == sorted([first, second])


def test_history_gives_every_account_version_and_the_one_in_force(client: httpx.Client, store) -> None:  # type: ignore[no-untyped-def]
    customer = one(store, "SELECT customer_id FROM serving_customer_versions GROUP BY 1 HAVING count(*) > 1")
    history = client.get(f"/v1/customers/{customer}/history", headers=EVERY).json()
    versions = history["versions"]
    assert len(versions) > 1 and history["as_of_version"] is None
    opened = versions[1]["valid_from"]
    at = client.get(f"/v1/customers/{customer}/history", params={"as_of": opened}, headers=EVERY).json()
    assert at["as_of_version"] == versions[1]
    just_before = datetime.fromisoformat(opened).timestamp() - 1
    earlier = datetime.fromtimestamp(just_before).astimezone().isoformat()
    before = client.get(f"/v1/customers/{customer}/history", params={"as_of": earlier}, headers=EVERY).json()
    assert before["as_of_version"] != versions[1]
    masked = client.get(f"/v1/customers/{customer}/history", headers={"X-API-Key": READ_KEY}).json()
    assert all(v["email"] is None or "***" in v["email"] for v in masked["versions"])


def test_the_identity_graph_and_the_evidence_path_between_two_of_its_nodes(client: httpx.Client, store) -> None:  # type: ignore[no-untyped-def]
    customer = one(
        store,
        "SELECT c.customer_id FROM serving_customers c JOIN serving_identifiers i ON i.customer_id = c.customer_id "
        "WHERE c.record_count >= 4 AND i.rule = 'exact:email'",
    )
    graph = client.get(f"/v1/customers/{customer}/identity", headers=EVERY).json()
    records = [n["id"] for n in graph["nodes"] if n["type"] == "record"]
    edges_by_rule = {e["rule"] for e in graph["edges"]}
    assert len(records) == int(
        one(store, f"SELECT record_count FROM serving_customers WHERE customer_id = '{customer}'")
    )
    assert any(rule.startswith("exact:") or rule == "match" for rule in edges_by_rule)
    email = next(n["id"] for n in graph["nodes"] if n["type"] == "email")
    typed = "email:" + email.removeprefix("email:").upper()  # any spelling finds the node
    why = client.get("/v1/identity/why", params={"a": records[0], "b": typed}, headers=EVERY).json()
    steps = why["steps"]
    assert why["customer_id"] == customer and steps[0]["from"] == records[0] and steps[-1]["to"] == email
    assert all(a["to"] == b["from"] for a, b in zip(steps, steps[1:], strict=False))
    masked = client.get(f"/v1/customers/{customer}/identity", headers={"X-API-Key": READ_KEY}).json()
    assert email not in str(masked) and any("***" in n["id"] for n in masked["nodes"])
    devices = [n["id"].removeprefix("device_id:") for n in graph["nodes"] if n["type"] == "device_id"]
    assert devices and not any(device in str(masked) for device in devices), "a device id shows unmasked"


def test_why_between_two_customers_is_404(client: httpx.Client, store) -> None:  # type: ignore[no-untyped-def]
    a, b = [r[0] for r in store.execute("SELECT DISTINCT record_id FROM serving_identity_edges WHERE edge='record' "
                                         "GROUP BY customer_id LIMIT 2")]  # fmt: skip
    response = client.get("/v1/identity/why", params={"a": f"record:{a}", "b": f"record:{b}"}, headers=EVERY)
    assert response.status_code == 404 and "different customers" in response.json()["detail"]


def test_overrides_are_created_once_listed_and_deleted_with_the_identity_scope(client: httpx.Client) -> None:
    body = {"rule": "cannot_link", "left_record": "users:9", "right_record": "users:8", "reason": "twins"}
    assert client.post("/v1/identity/overrides", json=body, headers={"X-API-Key": READ_KEY}).status_code == 403
    created = client.post("/v1/identity/overrides", json=body, headers=EVERY)
    again = client.post("/v1/identity/overrides", json=body, headers=EVERY)
    assert created.status_code == again.status_code == 201 and created.json()["id"] == again.json()["id"]
    assert created.json()["left_record"] == "users:8", "a pair is stored in sorted order"
    listed = client.get("/v1/identity/overrides", headers=EVERY).json()["data"]
    assert created.json() in listed
    override_id = created.json()["id"]
    assert client.delete(f"/v1/identity/overrides/{override_id}", headers=EVERY).status_code == 204
    assert client.delete(f"/v1/identity/overrides/{override_id}", headers=EVERY).status_code == 404
    bad = client.post("/v1/identity/overrides", json={**body, "rule": "maybe"}, headers=EVERY)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.rule"


def test_stock_latest_as_of_and_low_stock(client: httpx.Client, store) -> None:  # type: ignore[no-untyped-def]
    product, shop = store.execute("SELECT product_id, store_id FROM serving_stock_levels GROUP BY 1, 2 "
                                  "HAVING count(*) > 1 LIMIT 1").fetchone()  # fmt: skip
    times = [r[0] for r in store.execute("SELECT snapshot_ts FROM serving_stock_levels WHERE product_id = ? "
                                         "AND store_id = ? ORDER BY 1", (product, shop))]  # fmt: skip
    headers = {"X-API-Key": NO_SCOPE_KEY}  # holds inventory:read only
    latest = client.get(f"/v1/inventory/{product}", params={"store_id": shop}, headers=headers).json()["data"]
    assert [s["snapshot_ts"][:19] for s in latest] == [times[-1].replace(" ", "T")[:19]]
    as_of = times[0].replace(" ", "T")[:19] + "Z"
    then = client.get(f"/v1/inventory/{product}", params={"store_id": shop, "as_of": as_of}, headers=headers).json()
    assert [s["snapshot_ts"][:19] for s in then["data"]] == [times[0].replace(" ", "T")[:19]]
    everywhere = client.get(f"/v1/inventory/{product}", headers=headers).json()["data"]
    assert len({s["store_id"] for s in everywhere}) == len(everywhere) > 1
    assert (
        client.get(f"/v1/inventory/{product}", params={"as_of": "2001-01-01T00:00:00Z"}, headers=headers).status_code
        == 404
    )
    low = walk(client, f"/v1/inventory/stores/{shop}", below=15, limit=2)
    assert low and all(s["available"] < 15 and s["store_id"] == shop for s in low)
    assert [s["product_id"] for s in low] == sorted({s["product_id"] for s in low})
    assert client.get(f"/v1/inventory/{product}", headers={"X-API-Key": READ_KEY}).status_code == 403


def test_risk_shows_in_profiles_only_with_risk_read_and_matches_its_endpoint(client: httpx.Client, store) -> None:  # type: ignore[no-untyped-def]
    customer = one(store, "SELECT customer_id FROM serving_risk ORDER BY score DESC, customer_id")
    detail = client.get(f"/v1/customers/{customer}/risk", headers=EVERY).json()
    assert detail["score"] >= 50 and detail["reasons"] and detail["features"]
    assert detail["score"] == min(100, round(sum(r["contribution"] for r in detail["reasons"])))
    profile = client.get(f"/v1/customers/{customer}", headers=EVERY).json()
    assert profile["risk"]["score"] == detail["score"] and profile["risk"]["reasons"] == detail["reasons"][:3]
    without = client.get(f"/v1/customers/{customer}", headers={"X-API-Key": PII_KEY}).json()
    assert without["risk"] is None and {k: v for k, v in profile.items() if k != "risk"} == {
        k: v for k, v in without.items() if k != "risk"
    }
    assert client.get(f"/v1/customers/{customer}/risk", headers={"X-API-Key": PII_KEY}).status_code == 403


def test_the_review_queue_pages_highest_first_from_min_score(client: httpx.Client, store) -> None:  # type: ignore[no-untyped-def]
    queue = walk(client, "/v1/risk/customers", min_score=30, limit=3)
    expected = int(one(store, "SELECT count(*) FROM serving_risk WHERE score >= 30"))
    assert len(queue) == expected > 3
    keys = [(-int(str(q["score"])), str(q["customer_id"])) for q in queue]
    assert keys == sorted(keys) and all(int(str(q["score"])) >= 30 for q in queue)
