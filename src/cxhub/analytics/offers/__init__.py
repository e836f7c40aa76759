"""Offers and the next best action: catalogue rules, contact policy, uplift (pure)."""
