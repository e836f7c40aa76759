"""Customers on the dashboard: a search, and a customer's page (the golden profile with the
source of each value, products, contacts, satisfaction, value and segment)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cxhub.services.access.users import User
from cxhub.services.customers import read as customers
from cxhub.services.offers import trigger_runs
from cxhub.web.dashboard import downloads
from cxhub.web.dashboard.auth import Forbidden, require
from cxhub.web.dashboard.pages import render

router = APIRouter(prefix="/app", include_in_schema=False)

GOLDEN_FIELDS = (("first_name", "First name"), ("last_name", "Last name"), ("email", "E-mail"),
                 ("phone", "Phone"), ("date_of_birth", "Born"), ("national_id", "National id"),
                 ("customer_since", "Customer since"))


@router.get("/customers")
def customer_search(request: Request, user: Annotated[User, require("contacts")],
                    q: str = "") -> Response:
    found = customers.find_customers(request.app.state.warehouse, q) if q.strip() else []
    return render(request, "app/customers.html", {"q": q, "found": found,
                                                  "download": downloads.link_params({"q": q})})


FOUND_COLUMNS = ("customer_id", "first_name", "last_name", "email", "city", "postcode")
RECENT_COLUMNS = ("contact_id", "created_at", "channel", "subject", "text", "outcome")


@router.get("/export/customers.{fmt}")
def customer_search_file(request: Request, fmt: str, user: Annotated[User, require("contacts")],
                         q: str = "") -> Response:
    """Every customer the search finds (the page shows the first 50)."""
    downloads.check_format(fmt)
    found = (customers.find_customers(request.app.state.warehouse, q,
                                      limit=downloads.MAX_ROWS + 1) if q.strip() else [])
    return downloads.respond(fmt, "customers", downloads.table(found, FOUND_COLUMNS))


@router.get("/customers/{customer_id}")
def customer_page(request: Request, customer_id: int,
                  user: Annotated[User, require("contacts")]) -> Response:
    wh = request.app.state.warehouse
    c = customers.customer(wh, customer_id)
    if c is None:
        raise Forbidden(f"There is no customer with id {customer_id}.", 404)
    golden = c.get("golden") or {}
    rows = [(label, golden.get(name)) for name, label in GOLDEN_FIELDS if golden.get(name)]
    return render(request, "app/customer.html", {
        "c": c, "golden_rows": rows, "location": golden.get("location"),
        "recent": customers.recent_contacts(wh, customer_id),
        # The triggers this customer was in (issue 14): what marketing was told, and when.
        "triggers": trigger_runs.for_customer(wh, customer_id),
    })


SOURCE_COLUMNS = ("source", "external_id", "first_name", "last_name", "email", "postcode",
                  "match_probability")


@router.get("/export/customers/{customer_id}/records.{fmt}")
def customer_records_file(request: Request, customer_id: int, fmt: str,
                          user: Annotated[User, require("contacts")]) -> Response:
    """The source records linked into the customer (the page's table of them)."""
    downloads.check_format(fmt)
    c = customers.customer(request.app.state.warehouse, customer_id)
    if c is None:
        raise Forbidden(f"There is no customer with id {customer_id}.", 404)
    return downloads.respond(fmt, f"customer-{customer_id}-records",
                             downloads.table(c["source_records"], SOURCE_COLUMNS))


@router.get("/export/customers/{customer_id}/contacts.{fmt}")
def customer_contacts_file(request: Request, customer_id: int, fmt: str,
                           user: Annotated[User, require("contacts")]) -> Response:
    """All the customer's contacts, newest first, as the page lists its latest ones."""
    downloads.check_format(fmt)
    wh = request.app.state.warehouse
    if customers.customer(wh, customer_id) is None:
        raise Forbidden(f"There is no customer with id {customer_id}.", 404)
    rows = customers.recent_contacts(wh, customer_id, limit=downloads.MAX_ROWS + 1)
    return downloads.respond(fmt, f"customer-{customer_id}-contacts",
                             downloads.table(rows, RECENT_COLUMNS))
