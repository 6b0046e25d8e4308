"""The engine: scheduling a graph, the store, leases, runs, faults, tracking. It runs
nodes through ops/ and imports no learning code."""
