"""The REST API fuzzed from its own OpenAPI description (schemathesis): generated requests,
valid and invalid, with an admin key (every scope); no server error and no answer that breaks
the documented schema. A bounded number of examples per operation here; more with
`CXHUB_FUZZ_EXAMPLES=500 pytest tests/web/test_api_fuzz.py`.

One check is left out: that every request the schema allows is accepted. JSON Schema cannot say
"a time from 1850 up to tomorrow", so schema-valid times in the year 512 or 4506 are refused
(422, naming the field), as they must be."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from tests.web.dashboard_fixtures import dashboard_app, load_contacts

from cxhub.services.access import keys
from cxhub.warehouse import Warehouse

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")
EXAMPLES = int(os.environ.get("CXHUB_FUZZ_EXAMPLES", "5"))


@pytest.mark.slow
def test_api_fuzzed_from_its_openapi(warehouse: Warehouse, tmp_path: Path) -> None:
    load_contacts(warehouse, tmp_path / "in", [
        {"external_id": f"c{i}", "channel": "phone", "created_at": datetime(2026, 3, 1 + i, 9)}
        for i in range(5)])
    token = keys.create_key(warehouse, scopes=["admin"])[1]
    app = dashboard_app(warehouse, tmp_path)
    failures: list[str] = []
    with TestClient(app):  # runs the app's start-up, as a server would
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 10
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def fuzz(case: Any) -> None:
                case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                                       excluded_checks=[positive_data_acceptance])

            try:
                fuzz()
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all tried, then reported
                failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
