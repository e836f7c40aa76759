"""Forecast and staff: demand forecasts per channel and interval (stored), backtests on the
warehouse or a file, the staffing plan against the roster, opening hours, and what the public
page asks (expected wait, best time to contact)."""
