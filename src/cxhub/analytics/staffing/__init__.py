"""Staffing: Erlang C and Erlang A in log space, agents needed, shrinkage and occupancy.

A small library on numpy and scipy.special only, so that the planner, the public page and the
benchmark share one implementation.
"""

from cxhub.analytics.staffing.calculator import (
    Staffing,
    StaffingInputError,
    agents_needed,
    figures,
    staff,
    with_shrinkage,
)
from cxhub.analytics.staffing.erlang import QueueFigures, erlang_a, erlang_c

__all__ = [
    "QueueFigures",
    "Staffing",
    "StaffingInputError",
    "agents_needed",
    "erlang_a",
    "erlang_c",
    "figures",
    "staff",
    "with_shrinkage",
]
