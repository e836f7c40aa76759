"""GET a contact and a customer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from cxhub.services.customers import read as customers
from cxhub.web.deps import WarehouseDep, require_scope

router = APIRouter(prefix="/api/v1", tags=["read"], dependencies=[require_scope("read")])


@router.get("/contacts/{contact_id}", summary="A contact with its lifecycle events and labels")
def get_contact(contact_id: int, wh: WarehouseDep) -> dict[str, Any]:
    found = customers.contact(wh, contact_id)
    if found is None:
        raise HTTPException(404, f"no contact with id {contact_id}")
    return found


@router.get("/customers/{customer_id}", summary="A customer: golden record, sources, contacts")
def get_customer(customer_id: int, wh: WarehouseDep) -> dict[str, Any]:
    found = customers.customer(wh, customer_id)
    if found is None:
        raise HTTPException(404, f"no customer with id {customer_id}")
    return found
