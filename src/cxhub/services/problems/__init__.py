"""Problems and actions: discovery, cost and priority, ownership and escalation, actions and
their measured impact (see docs/problems.md). Each module is one use case; `errors` names the
field at fault in bad input."""
