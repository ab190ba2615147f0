"""The load engine's metrics: HDR series per request key, snapshots and thresholds read from them, the end-of-test
summary and the live progress line. Imports nothing else from `greenflag.load`."""
