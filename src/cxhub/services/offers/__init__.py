"""Offers and the next best action: the catalogue, the decision engine, outcomes, learning,
reports and the evaluation of campaign files."""
