"""Metric analysis: pure conditions, verdicts and statistics; providers only fetch."""
