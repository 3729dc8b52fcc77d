"""The sample-data generator: deterministic, internally consistent, noisy where promised, fraud labelled."""

from __future__ import annotations

import csv
import json
import re
import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

import sample_data
from sample_data import generate as generate_module
from sample_data.generate import generate
from sample_data.noise import strip_accents
from sample_data.vocab import NICKNAMES

COMMITTED = Path(sample_data.__file__).parent
WINDOW_END = datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)
WINDOW_START = WINDOW_END - timedelta(days=730)
EVENT_TYPES = {"view", "click", "add_to_cart", "remove_from_cart", "search", "login", "checkout", "purchase"}
JUNK_PHONES = {"0000000000", "5555555555", "1234567890", "9999999999"}
PATTERNS = {"velocity", "new_account_high_value", "shared_device", "bot_speed", "failed_logins_then_purchase",
            "cross_channel_duplicate", "value_spike", "identifier_burst"}  # fmt: skip
ISO_S = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
MONEY = re.compile(r"^\d+\.\d{2}$")


class Sample:
    """One generated run, parsed once."""

    def __init__(self, root: Path, counts: dict[str, int]) -> None:
        self.root = root
        self.counts = counts
        self.users = _csv(root / "users.csv")
        self.orders = _csv(root / "orders.csv")
        self.items = _csv(root / "order_items.csv")
        self.persons = {row["person_id"]: row for row in _csv(root / "truth/persons.csv")}
        self.devices = {row["device_id"]: row["person_id"] for row in _csv(root / "truth/devices.csv")}
        self.fraud = _csv(root / "truth/fraud.csv")
        self.bad = _csv(root / "truth/bad_records.csv")
        self.market = _jsonl(root / "marketplace_orders.jsonl")
        self.events = _jsonl(root / "events.jsonl")
        self.truth: dict[tuple[str, str], str] = {}
        for row in _csv(root / "truth/records.csv"):
            assert (row["source"], row["record_key"]) not in self.truth, row
            self.truth[(row["source"], row["record_key"])] = row["person_id"]

    def person_of(self, source: str, key: object) -> str:
        return self.truth[(source, str(key))]

    def good_events(self) -> list[dict[str, Any]]:
        """Events that are not listed as broken (redeliveries are well-formed, so they stay)."""
        broken = {r["record_key"] for r in self.bad if r["source"] == "events" and r["problem"] != "duplicate_delivery"}
        return [e for e in self.events if e["event_id"] not in broken]


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _files(root: Path) -> dict[str, bytes]:
    paths = sorted([*root.glob("*.csv"), *root.glob("*.jsonl"), *root.glob("truth/*.csv")])
    return {str(p.relative_to(root)): p.read_bytes() for p in paths}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    root = tmp_path_factory.mktemp("sample")
    return Sample(root, generate(root, customers=300, seed=7))


# --- determinism ---------------------------------------------------------------------------------------------


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    first, again, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(first, customers=60, seed=7)
    generate(again, customers=60, seed=7)
    generate(other, customers=60, seed=8)
    assert _files(first) == _files(again)
    assert _files(first)["users.csv"] != _files(other)["users.csv"]


def test_committed_sample_is_exactly_what_the_generator_writes(sample: Sample) -> None:
    fresh, committed = _files(sample.root), _files(COMMITTED)
    assert sorted(fresh) == sorted(committed)
    for name, content in fresh.items():
        assert committed[name] == content, f"sample_data/{name} drifted; regenerate it with generate()"


def test_parallel_chunks_write_the_same_bytes_as_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generate_module, "CHUNK_PEOPLE", 40)
    generate(tmp_path / "parallel", customers=120, seed=3)
    monkeypatch.setattr(generate_module, "_can_fork", lambda: False)
    generate(tmp_path / "serial", customers=120, seed=3)
    assert _files(tmp_path / "parallel") == _files(tmp_path / "serial")


def test_returned_counts_are_the_rows_in_each_file(sample: Sample) -> None:
    for name, count in sample.counts.items():
        lines = (sample.root / name).read_text(encoding="utf-8").count("\n")
        assert count == lines - (0 if name.endswith(".jsonl") else 1), name


def test_rejects_an_empty_population(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="customers"):
        generate(tmp_path, customers=0)


# --- internal consistency ------------------------------------------------------------------------------------


def test_order_totals_are_the_sum_of_their_items(sample: Sample) -> None:
    sums: dict[str, float] = defaultdict(float)
    for item in sample.items:
        assert MONEY.match(item["unit_price"])
        sums[item["order_id"]] += int(item["quantity"]) * round(float(item["unit_price"]) * 100)
    for order in sample.orders:
        assert MONEY.match(order["total_amount"])
        assert round(float(order["total_amount"]) * 100) == sums[order["order_id"]], order["order_id"]


def test_order_ids_are_unique_and_rise_with_order_time(sample: Sample) -> None:
    rows = sorted(sample.orders, key=lambda o: int(o["order_id"]))
    assert len({o["order_id"] for o in rows}) == len(rows)
    stamps = [o["order_ts"] for o in rows]
    assert stamps == sorted(stamps)


def test_orders_follow_their_channel_rules(sample: Sample) -> None:
    for order in sample.orders:
        assert ISO_S.match(order["order_ts"]) and order["updated_at"] >= order["order_ts"]
        assert order["status"] in {"placed", "shipped", "delivered", "cancelled", "returned"}
        assert not order["deleted_at"] or order["deleted_at"] >= order["updated_at"]
        assert WINDOW_START <= _ts(order["order_ts"]) <= WINDOW_END
        if order["channel"] == "pos":
            assert order["store_id"] and not order["user_id"] and not order["device_id"]
        else:
            assert order["channel"] == "web" and not order["store_id"]


def test_every_record_has_ground_truth_and_every_truth_key_exists(sample: Sample) -> None:
    keys = {
        "users": {u["user_id"] for u in sample.users},
        "orders": {o["order_id"] for o in sample.orders},
        "marketplace_orders": {d["_id"] for d in sample.market},
        "events": {e["event_id"] for e in sample.events},
    }
    assert len(keys["users"]) == len(sample.users) and len(keys["marketplace_orders"]) == len(sample.market)
    truth_keys: dict[str, set[str]] = defaultdict(set)
    for source, key in sample.truth:
        truth_keys[source].add(key)
    assert dict(truth_keys) == keys
    assert set(sample.truth.values()) <= set(sample.persons)
    for event in sample.events:
        assert event["device_id"] in sample.devices


def test_users_are_created_in_the_window_before_their_activity(sample: Sample) -> None:
    created = {u["user_id"]: _ts(u["created_at"]) for u in sample.users}
    assert all(WINDOW_START <= ts <= WINDOW_END for ts in created.values())
    for order in sample.orders:
        if order["user_id"]:
            assert created[order["user_id"]] < _ts(order["order_ts"])
    for event in sample.good_events():
        assert WINDOW_START <= _ts(event["event_ts"]) <= WINDOW_END
        if event["user_id"] is not None:
            assert created[str(event["user_id"])] < _ts(event["event_ts"])


def test_purchase_events_point_at_their_web_order(sample: Sample) -> None:
    orders = {int(o["order_id"]): o for o in sample.orders}
    purchases = [e for e in sample.good_events() if e.get("event_type") == "purchase"]
    assert purchases
    for event in purchases:
        order = orders[event["order_id"]]
        assert order["channel"] == "web" and order["device_id"] == event["device_id"]
        assert order["user_id"] == ("" if event["user_id"] is None else str(event["user_id"]))
        assert sample.person_of("events", event["event_id"]) == sample.person_of("orders", order["order_id"])


def test_event_lines_are_plain_json_in_time_order(sample: Sample) -> None:
    lines = (sample.root / "events.jsonl").read_text(encoding="utf-8").splitlines()
    for line in lines:
        assert json.dumps(json.loads(line), ensure_ascii=False) == line
    seen: set[str] = set()
    stamps = []
    for event in sample.good_events():
        if event["event_id"] not in seen:  # a redelivery arrives later than its event time
            seen.add(event["event_id"])
            stamps.append(event["event_ts"])
    assert stamps == sorted(stamps)


def test_real_phone_numbers_are_valid(sample: Sample) -> None:
    for person in sample.persons.values():
        assert phonenumbers.is_valid_number(phonenumbers.parse(person["phone"])), person


# --- noise ---------------------------------------------------------------------------------------------------


def _gmail_key(email: str) -> str:
    local, _, domain = email.strip().lower().partition("@")
    local = local.split("+")[0]
    if domain in ("gmail.com", "googlemail.com"):
        return local.replace(".", "") + "@gmail.com"
    return f"{local}@{domain}"


def test_email_variants_of_one_mailbox_appear(sample: Sample) -> None:
    variants = set()
    for user in sample.users:
        canonical = sample.persons[sample.person_of("users", user["user_id"])]["email"]
        email = user["email"]
        if email != canonical and _gmail_key(email) == _gmail_key(canonical):
            variants.add("plus" if "+" in email else "dots" if "gmail" in email.lower() else "form")
    assert {"plus", "dots"} <= variants


def test_households_share_an_email_under_different_first_names(sample: Sample) -> None:
    members: dict[str, list[dict[str, str]]] = defaultdict(list)
    for person in sample.persons.values():
        if person["household_id"]:
            members[person["household_id"]].append(person)
    shared = [
        m for m in members.values() if len({p["email"] for p in m}) == 1 and len({p["first_name"] for p in m}) > 1
    ]
    assert shared
    by_email: dict[str, set[str]] = defaultdict(set)
    for user in sample.users:
        by_email[user["email"]].add(sample.person_of("users", user["user_id"]))
    assert any(len(by_email[m[0]["email"]]) >= 2 for m in shared)


def test_junk_phones_are_shared_by_unrelated_people(sample: Sample) -> None:
    holders: dict[str, set[str]] = defaultdict(set)
    for order in sample.orders:
        if order["phone"] in JUNK_PHONES:
            holders[order["phone"]].add(sample.person_of("orders", order["order_id"]))
    assert max(len(p) for p in holders.values()) >= 3


def test_anonymous_device_later_logs_in(sample: Sample) -> None:
    seen: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in sorted(sample.good_events(), key=lambda e: e["event_ts"]):
        seen[event["device_id"]].append(event)
    later_known = [
        device for device, events in seen.items()
        if not device.startswith("kiosk-") and events[0]["user_id"] is None
        and any(e["user_id"] is not None for e in events)
        and len({sample.person_of("events", e["event_id"]) for e in events}) == 1
    ]  # fmt: skip
    assert later_known


def test_kiosk_device_is_shared_by_many_people(sample: Sample) -> None:
    people: dict[str, set[str]] = defaultdict(set)
    for event in sample.events:
        if event["device_id"].startswith("kiosk-"):
            assert sample.devices[event["device_id"]] == ""
            people[event["device_id"]].add(sample.person_of("events", event["event_id"]))
    assert max(len(p) for p in people.values()) >= 3


def test_marketplaces_hide_buyers_behind_stable_relay_emails(sample: Sample) -> None:
    relay_owner: dict[str, set[str]] = defaultdict(set)
    for doc in sample.market:
        person = sample.person_of("marketplace_orders", doc["_id"])
        if doc["platform"] == "amazon":
            relay = doc["BuyerInfo"]["BuyerEmail"]
            assert re.match(r"^[a-z0-9]{15}@marketplace\.amazon\.com$", relay)
            relay_owner[relay].add(person)
        elif doc["platform"] == "walmart":
            relay = doc["customerEmailId"]
            assert relay.endswith("@relay.walmart.com")
            relay_owner[relay].add(person)
    assert relay_owner and all(len(owners) == 1 for owners in relay_owner.values())


def _typed_first_names(sample: Sample) -> set[tuple[str, str]]:
    """(true first name, first name as typed) over accounts and marketplace buyer names."""
    pairs = set()
    for user in sample.users:
        pairs.add((sample.persons[sample.person_of("users", user["user_id"])]["first_name"], user["first_name"]))
    for doc in sample.market:
        if doc["platform"] == "amazon":
            name = doc["ShippingAddress"]["Name"]
        elif doc["platform"] == "ebay":
            name = doc["buyer"]["buyerRegistrationAddress"]["fullName"]
        else:
            name = doc["shippingInfo"]["postalAddress"]["name"]
        pairs.add((sample.persons[sample.person_of("marketplace_orders", doc["_id"])]["first_name"], name.split()[0]))
    return pairs


def test_names_and_phones_are_written_many_ways(sample: Sample) -> None:
    pairs = _typed_first_names(sample)
    assert any(typed in NICKNAMES.get(true, ()) for true, typed in pairs)
    assert any(typed == strip_accents(true) != true for true, typed in pairs)
    assert any(typed.lower() != true.lower() and typed not in NICKNAMES.get(true, ()) and typed != strip_accents(true)
               for true, typed in pairs)  # a typo  # fmt: skip
    shapes = {re.sub(r"\d", "9", u["phone"]) for u in sample.users if u["phone"] not in JUNK_PHONES}
    assert len(shapes) >= 5


# --- broken records and fraud --------------------------------------------------------------------------------


def test_bad_records_are_really_bad_and_all_listed(sample: Sample) -> None:
    events = defaultdict(list)
    for event in sample.events:
        events[event["event_id"]].append(event)
    listed = set()
    for row in sample.bad:
        listed.add(row["record_key"])
        if row["problem"] == "duplicate_delivery":
            assert len(events[row["record_key"]]) == 2 and events[row["record_key"]][0] == events[row["record_key"]][1]
        elif row["source"] == "events":
            event = events[row["record_key"]][0]
            assert event.get("event_type") not in EVENT_TYPES or not _is_iso(event["event_ts"])
    for event_id, copies in events.items():
        event = copies[0]
        if event.get("event_type") not in EVENT_TYPES or not _is_iso(event["event_ts"]) or len(copies) > 1:
            assert event_id in listed
    assert {r["source"] for r in sample.bad} == {"events", "marketplace_orders"}


def _is_iso(value: Any) -> bool:
    try:
        _ts(value)
    except (TypeError, ValueError):
        return False
    return True


def test_every_fraud_pattern_is_labelled(sample: Sample) -> None:
    assert {row["pattern"] for row in sample.fraud} == PATTERNS
    for row in sample.fraud:
        assert (row["record_source"], row["record_key"]) in sample.truth


def _cases(sample: Sample, pattern: str) -> list[dict[str, list[str]]]:
    """Per fraudster of the pattern: labelled record keys by source."""
    cases: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in sample.fraud:
        if row["pattern"] == pattern:
            cases[row["person_id"]][row["record_source"]].append(row["record_key"])
    assert cases, pattern
    return list(cases.values())


def test_fraud_order_patterns_hold(sample: Sample) -> None:
    orders = {o["order_id"]: o for o in sample.orders}
    users = {u["user_id"]: u for u in sample.users}
    median = statistics.median(float(o["total_amount"]) for o in sample.orders)
    for case in _cases(sample, "velocity"):
        burst = sorted(_ts(orders[k]["order_ts"]) for k in case["orders"])
        assert len(burst) >= 5 and burst[-1] - burst[0] <= timedelta(hours=1)
    for case in _cases(sample, "new_account_high_value"):
        (user_id,), (order_id,) = case["users"], case["orders"]
        big = orders[order_id]
        assert big["user_id"] == user_id and float(big["total_amount"]) > 5 * median
        assert timedelta(0) < _ts(big["order_ts"]) - _ts(users[user_id]["created_at"]) < timedelta(days=1)
        assert not any(o["user_id"] == user_id and o["order_ts"] < big["order_ts"] for o in sample.orders)
    for case in _cases(sample, "value_spike"):
        spike = orders[case["orders"][0]]
        person = sample.person_of("orders", spike["order_id"])
        history = [float(o["total_amount"]) for o in sample.orders
                   if sample.person_of("orders", o["order_id"]) == person and o is not spike]  # fmt: skip
        assert len(history) >= 3 and float(spike["total_amount"]) >= 10 * statistics.mean(history)


def test_cross_channel_duplicate_has_same_basket_amount(sample: Sample) -> None:
    orders = {o["order_id"]: o for o in sample.orders}
    docs = {d["_id"]: d for d in sample.market}
    for case in _cases(sample, "cross_channel_duplicate"):
        web, doc = orders[case["orders"][0]], docs[case["marketplace_orders"][0]]
        amazon = doc["platform"] == "amazon"
        amount = doc["OrderTotal"]["Amount"] if amazon else doc["pricingSummary"]["total"]["value"]
        assert amount == web["total_amount"]
        placed = _ts(doc["PurchaseDate"] if amazon else doc["creationDate"])
        assert timedelta(0) < placed - _ts(web["order_ts"]) <= timedelta(minutes=15)


def test_fraud_event_patterns_hold(sample: Sample) -> None:
    events = {e["event_id"]: e for e in sample.events}

    def timeline(keys: list[str]) -> list[dict[str, Any]]:
        return sorted((events[k] for k in keys), key=lambda e: e["event_ts"])

    for case in _cases(sample, "bot_speed"):
        bot = timeline(case["events"])
        assert bot[0]["event_type"] == "add_to_cart" and bot[-1]["event_type"] == "purchase"
        assert _ts(bot[-1]["event_ts"]) - _ts(bot[0]["event_ts"]) < timedelta(seconds=2)
    for case in _cases(sample, "failed_logins_then_purchase"):
        kinds = [(e["event_type"], e["metadata"].get("success")) for e in timeline(case["events"])]
        assert kinds[:3] == [("login", False)] * 3 and ("login", True) in kinds and kinds[-1][0] == "purchase"
    for case in _cases(sample, "shared_device"):
        takeover = timeline(case["events"])
        assert len({e["device_id"] for e in takeover}) == 1 and not takeover[0]["device_id"].startswith("kiosk-")
        victims = {str(e["user_id"]) for e in takeover if e["metadata"].get("success")}
        assert len({sample.person_of("users", user_id) for user_id in victims}) >= 4
    users = {u["user_id"]: u for u in sample.users}
    for case in _cases(sample, "identifier_burst"):
        burst = [users[k] for k in case["users"]]
        created = sorted(_ts(u["created_at"]) for u in burst)
        assert len(created) >= 3 and created[-1] - created[0] <= timedelta(hours=1)
        assert len({u["email"] for u in burst}) == len(burst)
        logins = timeline(case["events"])
        assert len({e["device_id"] for e in logins}) == 1 and {str(e["user_id"]) for e in logins} == set(case["users"])
