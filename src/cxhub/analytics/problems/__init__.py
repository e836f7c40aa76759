"""Problems: recurring reasons for contact found in the contacts, their cost, and the measured
impact of the actions taken on them. Pure algorithms and Ibis plans; no web, no writes."""
