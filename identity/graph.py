"""The identity graph: records and identifiers as nodes; shared identifiers, matches and overrides as links.

Two records belong to one person when a path of trustworthy links joins them: identifiers they
share, probabilistic matches (`identity.match`) and manual must-links. An identifier is not trusted
when it is a known junk value (`0000000000`, `none@none.com`) or when the data shows it shared: by
clearly different names (a household e-mail: linked to each member as a household identifier,
never merging them) or by more accounts than one person holds (a till's default phone, the store
kiosk's device id). Such identifiers are kept out of the graph; a family's e-mails and phones link
only records that carry a name.
"""

from __future__ import annotations

from collections.abc import Iterable, Set

import networkx as nx
import polars as pl
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from identity.normalize import JUNK_LOYALTY_ID, JUNK_VALUES, canonical_first_name, is_junk, normalize_name
from identity.records import DEVICE_SOURCE, map_distinct

RecordNode = tuple[str, str]  # ("record", record_id)
IdentifierNode = tuple[str, str, str]  # ("identifier", kind, value)
Node = tuple[str, ...]  # either of the above
# Identifier kinds that tell people apart when counting how many people share an identifier.
PERSON_KINDS = ("user_id", "loyalty_id")
# Two names this similar (rapidfuzz ratio, 0-100) are one person typed twice.
NAME_SIMILARITY = 80.0
# A device seen with two accounts is a shared computer, not proof the accounts are one person.
MAX_PEOPLE_BY_KIND = {"device_id": 1}
HOUSEHOLD_REASON = "household_"  # prefix of the reason a family e-mail or phone links nobody by
# Kinds that make a component a customer; a device alone is an anonymous visitor.
CUSTOMER_KINDS = frozenset({"email", "phone", "loyalty_id", "user_id", "marketplace_buyer_id"})
# What cutting a link costs when a cannot-link splits a component: stronger evidence costs more,
# so a cut goes through the weakest links (a shared device, a name-and-address key) first.
CUT_COST = {"user_id": 8.0, "marketplace_buyer_id": 6.0, "loyalty_id": 6.0, "email": 4.0, "phone": 4.0}
DEFAULT_CUT_COST = 2.0


def record_node(record_id: str) -> RecordNode:
    """The graph node of a record."""
    return ("record", record_id)


def identifier_node(kind: str, value: str) -> IdentifierNode:
    """The graph node of a normalised identifier."""
    return ("identifier", kind, value)


def node_label(node: Node) -> str:
    """'record:users:42' or 'email:ann@example.com'."""
    return f"record:{node[1]}" if node[0] == "record" else f"{node[1]}:{node[2]}"


def labelled_node(text: str) -> Node:
    """The node `node_label` wrote `text` for."""
    prefix, _, rest = text.partition(":")
    return record_node(rest) if prefix == "record" else identifier_node(prefix, rest)


def similar_names(a: str, b: str) -> bool:
    """One name typed twice: equal, close (ratio), or one slip apart (a swapped, dropped or wrong letter)."""
    if a == b or fuzz.ratio(a, b) >= NAME_SIMILARITY:
        return True
    return min(len(a), len(b)) >= 4 and OSA.distance(a, b) <= 1


def _same_person(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Names close enough to be one person typed twice: nicknames, accents and typos forgiven."""
    return similar_names(a[0], b[0]) and similar_names(a[1], b[1])


def count_people(names: list[tuple[str, str]]) -> int:
    """How many distinct people a list of (canonical first, normalised last) names describes."""
    clusters: list[tuple[str, str]] = []
    for name in sorted(set(names)):
        if not any(_same_person(name, seen) for seen in clusters):
            clusters.append(name)
    return len(clusters)


def _named_people(records: pl.DataFrame, identifiers: pl.DataFrame) -> pl.DataFrame:
    """(kind, value, named_people): distinct people by name among the records carrying each identifier."""
    current = records.select("record_id", "seen_at", "first_name", "last_name").sort("seen_at")
    latest = current.unique(subset="record_id", keep="last").filter(  # an account's current name, if it has one
        pl.col("first_name").is_not_null() & pl.col("last_name").is_not_null()
    )
    names = latest.select(
        "record_id",
        map_distinct(latest["first_name"], canonical_first_name).alias("first"),
        map_distinct(latest["last_name"], normalize_name).alias("last"),
    ).filter(pl.col("first").is_not_null() & pl.col("last").is_not_null())
    grouped = (
        identifiers.filter(pl.col("kind") != "user_id")  # an account id names one account, whatever its history
        .join(names, on="record_id")
        .group_by("kind", "value")
        .agg(pl.struct("first", "last").unique().alias("names"))
        .filter(pl.col("names").list.len() > 1)
    )
    counts = [count_people([(n["first"], n["last"]) for n in row]) for row in grouped["names"].to_list()]
    return grouped.select("kind", "value").with_columns(pl.Series("named_people", counts, pl.Int64))


def _id_people(identifiers: pl.DataFrame) -> pl.DataFrame:
    """(kind, value, id_people): the most distinct user or loyalty ids among records carrying each identifier."""
    person_ids = identifiers.filter(pl.col("kind").is_in(PERSON_KINDS)).select(
        "record_id", pl.col("kind").alias("pkind"), pl.col("value").alias("pvalue")
    )
    pairs = identifiers.join(person_ids, on="record_id").filter(pl.col("pkind") != pl.col("kind"))
    per_kind = pairs.group_by("kind", "value", "pkind").agg(pl.col("pvalue").n_unique().alias("n"))
    return per_kind.group_by("kind", "value").agg(pl.col("n").max().alias("id_people"))


def untrusted_identifiers(
    records: pl.DataFrame, identifiers: pl.DataFrame, *, max_people: int
) -> dict[IdentifierNode, str]:
    """Identifiers kept out of the graph, with the reason.

    - `junk_value`: on the built-in junk list;
    - `household_N_people`: carried by records of N clearly different names (a family e-mail);
    - `shared_by_N_people`: carried by more distinct accounts or loyalty cards than `max_people`
      allows (a till's default phone; for devices, more than one account: a shared computer).
    """
    reasons: dict[IdentifierNode, str] = {}
    junk = _junk(identifiers.select("kind", "value").unique())
    for kind, value in junk.iter_rows():
        reasons[identifier_node(kind, value)] = "junk_value"
    # Junk is junk however many people typed it: counting the names on test@test.com is quadratic.
    carried = identifiers.join(junk, on=["kind", "value"], how="anti")
    for kind, value, people in _named_people(records, carried).filter(pl.col("named_people") > 1).iter_rows():
        reasons.setdefault(identifier_node(kind, value), f"{HOUSEHOLD_REASON}{people}_people")
    limits = pl.col("kind").replace_strict(MAX_PEOPLE_BY_KIND, default=max_people, return_dtype=pl.Int64)
    for kind, value, people in _id_people(identifiers).filter(pl.col("id_people") > limits).iter_rows():
        reasons.setdefault(identifier_node(kind, value), f"shared_by_{people}_people")
    return reasons


def _junk(values: pl.DataFrame) -> pl.DataFrame:
    """The (kind, value) rows that are junk: `is_junk` of each, its list and rules run over whole columns."""
    kind, value = pl.col("kind"), pl.col("value")
    listed = pl.concat_str(kind, pl.lit("\x00"), value).is_in(
        [f"{kind}\x00{value}" for kind, found in JUNK_VALUES.items() for value in found]
    )
    emails = list(JUNK_VALUES.get("email", ()))
    has_at = value.str.contains("@", literal=True)
    local = pl.when(has_at).then(value.str.extract(r"^(.*)@")).otherwise(pl.lit(""))
    domain = pl.when(has_at).then(value.str.extract(r"@([^@]*)$")).otherwise(value)
    wildcard = pl.concat_str(local, pl.lit("@*")).is_in(emails) | pl.concat_str(pl.lit("*@"), domain).is_in(emails)
    ruled = (
        ((kind == "email") & wildcard)
        | ((kind == "loyalty_id") & value.str.contains(JUNK_LOYALTY_ID.pattern))
        | (value == "")
    )
    found = values.filter(listed | ruled)
    phones = values.filter(kind == "phone").join(found, on=["kind", "value"], how="anti")
    junk_phones = phones.filter(
        pl.Series([is_junk("phone", phone) for phone in phones["value"].to_list()], dtype=pl.Boolean)
    )
    return pl.concat([found.select("kind", "value"), junk_phones.select("kind", "value")])


def shared_device_sessions(records: pl.DataFrame, untrusted: Set[IdentifierNode]) -> list[str]:
    """Device records (a device seen signed in to an account) of devices seen with several accounts.

    Whoever acted there may not be the account holder (a family computer, a device taking over
    other people's accounts), so such a record joins no customer.
    """
    shared = [value for _, kind, value in untrusted if kind == "device_id"]
    sessions = records.filter((pl.col("source") == DEVICE_SOURCE) & pl.col("device_id").is_in(shared))
    return sessions["record_id"].unique().to_list()


def household_identifiers(named: pl.DataFrame, identifiers: pl.DataFrame) -> set[IdentifierNode]:
    """E-mails and phones of people who share their address with clearly different people.

    `named` is the matcher's frame (normalised first, last, street, postcode per named record). A
    family's e-mail or phone says which household, not which member: on a record that carries no
    name (a guest checkout, a till receipt) it must not pick a member.
    """
    at_address = named.filter(pl.all_horizontal(pl.col("first", "street", "postcode").is_not_null()))
    grouped = at_address.group_by("street", "postcode").agg(pl.struct("first", "last").unique(), pl.col("record_id"))
    members: list[str] = []
    for names, record_ids in grouped.filter(pl.col("first").list.len() > 1).select("first", "record_id").iter_rows():
        if count_people([(n["first"], n["last"] or "") for n in names]) > 1:
            members.extend(record_ids)
    carried = identifiers.filter(pl.col("record_id").is_in(members) & pl.col("kind").is_in(("email", "phone")))
    return {identifier_node(kind, value) for kind, value in carried.select("kind", "value").unique().iter_rows()}


def trusted_links(
    identifiers: pl.DataFrame,
    excluded: Iterable[IdentifierNode],
    *,
    household: Set[IdentifierNode] = frozenset(),
    named: Set[str] = frozenset(),
) -> pl.DataFrame:
    """(record_id, kind, value): each record's link to a trusted identifier, the graph's edges.

    `household` identifiers link named records only (see `household_identifiers`).
    """
    kept = identifiers.select("record_id", "kind", "value").join(
        _node_frame(excluded), on=["kind", "value"], how="anti"
    )
    family = _node_frame(household).join(kept, on=["kind", "value"]).filter(~pl.col("record_id").is_in(list(named)))
    return kept.join(family, on=["record_id", "kind", "value"], how="anti")


def _node_frame(nodes: Iterable[IdentifierNode]) -> pl.DataFrame:
    return pl.DataFrame(
        [(kind, value) for _, kind, value in nodes], schema={"kind": pl.String, "value": pl.String}, orient="row"
    )


def edge_rule(graph: nx.Graph, u: Node, v: Node) -> str:
    """Why two nodes are linked: `exact:<kind>` for a record and its identifier, else the edge's own rule."""
    rule = graph.edges[u, v].get("rule")
    if rule is not None:
        return str(rule)
    return f"exact:{(u if u[0] == 'identifier' else v)[1]}"


def edge_capacity(graph: nx.Graph, u: Node, v: Node) -> float:
    """What cutting the link costs (see CUT_COST)."""
    data = graph.edges[u, v]
    if "capacity" in data:
        return float(data["capacity"])
    return CUT_COST.get((u if u[0] == "identifier" else v)[1], DEFAULT_CUT_COST)


MANUAL_CUT_COST = 1_000.0
"""A must-link outweighs any evidence: a cut goes through it only when nothing else separates."""
