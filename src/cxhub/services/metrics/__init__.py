"""Metrics storage and queries: `compute` answers a catalogue metric over the warehouse (one call
each) on the thread's Ibis backend (`backend`), `ready_tables` keeps the ready-made tables
current and says which a query may read, `ready_steps` is the refresh of each table on the
writer's connection."""
