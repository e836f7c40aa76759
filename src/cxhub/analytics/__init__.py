"""Analytics capabilities: pure algorithms and plans over warehouse tables, one folder each."""
