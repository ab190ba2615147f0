"""What a load test runs: the Python scenario API (`User`, `task`, waits), User classes as VUs, Python and YAML
scenario files, data feeders, and the URL quick mode. Builds on `load.http`, `load.engine` and `load.metrics`."""
