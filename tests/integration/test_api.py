"""The REST API over the built sample, through a real HTTP server: auth, masking, lookups, errors."""

from __future__ import annotations

import logging
import re
import time

import httpx
import pytest

from tests.conftest import NO_SCOPE_KEY, PII_KEY, READ_KEY, Built
from tests.support import SAMPLE_DIR, csv_rows, serving

PROBLEM = "application/problem+json"


def a_user_with_orders(client: httpx.Client) -> dict[str, str]:
    """A sample user whose e-mail leads to exactly one customer with orders."""
    for user in csv_rows(SAMPLE_DIR / "users.csv"):
        response = client.get("/v1/customers", params={"email": user["email"]}, headers={"X-API-Key": PII_KEY})
        data = response.json()["data"]
        if len(data) == 1 and data[0]["metrics"]["order_count"] > 0:
            return user
    raise AssertionError("no sample user with orders found")


def test_probes_answer(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "checks": {}}
    assert client.get("/readyz").json() == {"status": "ok", "checks": {"catalog": "ok", "store": "ok"}}


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "not-a-key-at-all-000000"}])
def test_missing_or_unknown_keys_get_401_problem_details(client: httpx.Client, headers: dict[str, str]) -> None:
    response = client.get("/v1/customers/C-000000000000", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 401


def test_unknown_customer_is_404_problem(client: httpx.Client) -> None:
    response = client.get("/v1/customers/C-000000000000", headers={"X-API-Key": READ_KEY})
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "no customer C-000000000000"


def test_lookup_normalises_like_ingestion(client: httpx.Client) -> None:
    user = a_user_with_orders(client)
    messy = f"  {user['email'].upper()} "
    exact = client.get("/v1/customers", params={"email": user["email"]}, headers={"X-API-Key": PII_KEY}).json()
    loose = client.get("/v1/customers", params={"email": messy}, headers={"X-API-Key": PII_KEY}).json()
    assert loose == exact and loose["count"] == 1
    by_user_id = client.get("/v1/customers", params={"user_id": user["user_id"]}, headers={"X-API-Key": PII_KEY}).json()
    assert by_user_id["data"][0]["customer_id"] == exact["data"][0]["customer_id"]


def test_personal_values_are_masked_without_the_pii_scope(client: httpx.Client) -> None:
    user = a_user_with_orders(client)
    lookup = client.get("/v1/customers", params={"email": user["email"]}, headers={"X-API-Key": PII_KEY}).json()
    customer_id = lookup["data"][0]["customer_id"]
    full = client.get(f"/v1/customers/{customer_id}", headers={"X-API-Key": PII_KEY}).json()
    masked = client.get(f"/v1/customers/{customer_id}", headers={"X-API-Key": READ_KEY}).json()
    assert not full["pii_masked"] and masked["pii_masked"]
    personal = ["first_name", "last_name", "email", "phone", "street", "postcode", "loyalty_id"]
    for name in personal:
        if full[name] is not None and len(full[name]) > 3:
            assert masked[name] != full[name] and "***" in masked[name], name
            assert full[name] not in str(masked), f"{name} leaks somewhere in the masked profile"
    assert masked["dob"] is None
    assert masked["metrics"] == full["metrics"] and masked["recent_orders"] == full["recent_orders"]
    for identifier in masked["identifiers"]:
        if identifier["kind"] != "user_id":
            assert "***" in identifier["value"], identifier["kind"]


def test_a_key_without_the_customers_scope_gets_403(client: httpx.Client) -> None:
    response = client.get("/v1/customers/C-000000000000", headers={"X-API-Key": NO_SCOPE_KEY})
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert "profile:read" in response.json()["detail"]


def test_every_response_carries_a_request_id(client: httpx.Client) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "trace-42.a"}).headers["x-request-id"] == "trace-42.a"
    made = client.get("/v1/customers/C-000000000000", headers={"X-API-Key": READ_KEY, "X-Request-ID": "not plain"})
    assert made.status_code == 404 and re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])


def test_a_key_over_its_rate_gets_429_with_retry_after(built: Built) -> None:
    from api.main import create_app

    api = built.settings.api.model_copy(update={"rate_limit_per_second": 0.5, "rate_limit_burst": 2})
    app = create_app(built.settings.model_copy(update={"api": api}))
    with serving(app) as base, httpx.Client(base_url=base) as http:
        answers = [http.get("/v1/customers/C-000000000000", headers={"X-API-Key": READ_KEY}) for _ in range(3)]
        other_key = http.get("/v1/customers/C-000000000000", headers={"X-API-Key": PII_KEY})
    assert [a.status_code for a in answers] == [404, 404, 429] and other_key.status_code == 404
    assert answers[2].headers["retry-after"] == "2" and answers[2].headers["content-type"] == PROBLEM


def test_the_access_log_never_carries_the_looked_up_values(client: httpx.Client) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    access = logging.getLogger("uvicorn.access")
    level = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        client.get("/v1/customers", params={"email": "secret.person@example.com"}, headers={"X-API-Key": READ_KEY})
        deadline = time.monotonic() + 5
        while not records and time.monotonic() < deadline:  # the line is written after the response is sent
            time.sleep(0.02)
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    lines = [record.getMessage() for record in records]
    assert any("/v1/customers" in line for line in lines)
    assert not any("secret" in line or "example.com" in line for line in lines)


def test_profile_carries_metrics_that_add_up_and_recent_orders_newest_first(client: httpx.Client) -> None:
    user = a_user_with_orders(client)
    profile = client.get("/v1/customers", params={"email": user["email"]}, headers={"X-API-Key": PII_KEY}).json()[
        "data"
    ][0]
    metrics = profile["metrics"]
    assert metrics["order_count"] == sum(c["order_count"] for c in metrics["channels"].values())
    total = sum(float(c["value"]) for c in metrics["channels"].values())
    assert abs(float(metrics["lifetime_value"]) - total) < 0.005
    times = [o["order_ts"] for o in profile["recent_orders"]]
    assert times == sorted(times, reverse=True) and len(times) == min(10, metrics["order_count"])
    assert profile["lineage"]["email"]["record"].startswith("users:")


@pytest.mark.parametrize(
    "params",
    [{}, {"email": "a@example.com", "phone": "4155550134"}, {"email": "not-an-email"}, {"phone": "12"}],
)
def test_bad_lookups_are_422_problems(client: httpx.Client, params: dict[str, str]) -> None:
    response = client.get("/v1/customers", params=params, headers={"X-API-Key": READ_KEY})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_an_unknown_but_valid_identifier_finds_nobody(client: httpx.Client) -> None:
    response = client.get("/v1/customers", params={"email": "nobody@nowhere.example"}, headers={"X-API-Key": READ_KEY})
    assert response.json() == {"data": [], "count": 0}
