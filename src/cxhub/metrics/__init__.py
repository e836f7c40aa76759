"""The metric catalogue: every metric defined once, as data, and compiled to Ibis expressions.

`compute(backend, name, start=, end=, by=, filters=, compare=)` is the one way to get a figure;
`default_catalogue()` lists the definitions (catalogue.yaml).
"""

from cxhub.metrics.definitions import Catalogue, Metric, UnknownMetricError, default_catalogue
from cxhub.metrics.periods import COMPARISONS, GRAINS, MetricQueryError
from cxhub.metrics.query import compute

__all__ = ["COMPARISONS", "GRAINS", "Catalogue", "Metric", "MetricQueryError",
           "UnknownMetricError", "compute", "default_catalogue"]
