"""GET the metric catalogue and any metric by period and dimension."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from cxhub.domain.errors import NotFoundError
from cxhub.metrics import MetricQueryError
from cxhub.services.metrics import compute as metric_service
from cxhub.web.deps import WarehouseDep, require_scope

router = APIRouter(prefix="/api/v1", tags=["metrics"], dependencies=[require_scope("read")])

_OWN_PARAMETERS = {"from", "to", "by", "compare"}


@router.get("/metrics", summary="The metric catalogue: every definition")
def list_metrics() -> dict[str, Any]:
    return {"metrics": metric_service.catalogue()}


@router.get(
    "/metrics/{name}",
    summary="A metric by period and dimension, with comparisons",
    description=(
        "Any other query parameter filters on a dimension: `channel=phone` or "
        "`channel=phone,chat`. A date as `to` includes that day; a date-time is excluded. "
        "Rows: `period` (with a period in `by`), one key per dimension, `value`, `n` (the "
        "contacts or answers behind the value), and `previous`, `last_year`, `target` when "
        "asked; `previous_coverage` and `last_year_coverage` say how many days of the compared "
        "period the data covers (`{\"days\": 30, \"covered_days\": 3, \"status\": "
        "\"partial\"}`; status full, partial or none). A compared period without data has "
        "no value. Dimensions include the customer's segments: `segment` (value band), "
        "`persona`, `portfolio`, `rfm_segment`."),
)
def get_metric(
    name: str,
    request: Request,
    wh: WarehouseDep,
    start: Annotated[str | None, Query(alias="from", description="2024-03-01 or "
                                       "2024-03-01T09:00:00; default: 30 days before `to`")] = None,
    end: Annotated[str | None, Query(alias="to", description="default: today")] = None,
    by: Annotated[str, Query(description="a period (15min, hour, day, week, month) and/or "
                             "dimensions, comma-separated: `day,channel`")] = "",
    compare: Annotated[str, Query(description="previous, last_year, target")] = "",
) -> dict[str, Any]:
    filters: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key not in _OWN_PARAMETERS:
            filters.setdefault(key, []).extend(v for v in value.split(",") if v)
    try:
        return metric_service.report(wh, name, start=start, end=end, by=by, compare=compare,
                                     filters=filters)
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    except MetricQueryError as exc:
        raise HTTPException(422, [{"loc": ["query", exc.parameter], "msg": exc.reason,
                                   "type": "value_error"}]) from None
