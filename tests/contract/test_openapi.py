"""The OpenAPI contract: the committed snapshot is current, and the live API honours the document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.main import openapi_json
from tests.conftest import ALL_KEY, Built
from tests.support import REPO, copy_store, serving


def test_the_committed_openapi_snapshot_is_current() -> None:
    committed = (REPO / "api" / "openapi.json").read_text()
    assert committed == openapi_json(), "the API changed: run `c360 openapi` and review api/openapi.json"


def test_every_operation_documents_its_responses_and_examples() -> None:
    document = json.loads(openapi_json())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary") or operation.get("description"), f"{method} {path} has no description"
            assert any(s.startswith("2") for s in operation["responses"]), f"{method} {path} documents no success"
            assert "422" in operation["responses"] or not operation.get("parameters"), f"{method} {path}"
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if status.startswith("2") and schema is not None:
                    assert _shows_an_example(schema, schemas), f"{method} {path} {status} shows no example in /docs"


def _shows_an_example(schema: dict[str, Any], schemas: dict[str, Any], depth: int = 2) -> bool:
    """The schema, or a model it holds (a page's items, say), carries an example."""
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    if schema.get("examples"):
        return True
    nested = [schema.get("items", {}), *schema.get("properties", {}).values()]
    nested += [n.get("items", {}) for n in nested]
    return depth > 0 and any(_shows_an_example(n, schemas, depth - 1) for n in nested if n)


@pytest.fixture(scope="module")
def private_api_url(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API over a copy of the built store: generated writes (overrides) must not reach other tests."""
    from api.main import create_app

    url = copy_store(str(built.settings.store.url), tmp_path_factory.mktemp("contract") / "store.db")
    store = built.settings.store.model_copy(update={"url": url})
    with serving(create_app(built.settings.model_copy(update={"store": store}))) as base:
        yield base


def test_the_live_api_conforms_to_its_document(private_api_url: str) -> None:
    """Schemathesis generates requests for every operation, writes included; responses must match the document."""
    schema = schemathesis.openapi.from_url(f"{private_api_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13
    for operation in operations:

        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def conforms(case: Case) -> None:
            # "Exactly one identifier" and "a value that normalises" cannot be said in OpenAPI, so
            # a schema-valid lookup may rightly get 422; every other check applies.
            case.call_and_validate(headers={"X-API-Key": ALL_KEY}, excluded_checks=[positive_data_acceptance])

        conforms()
