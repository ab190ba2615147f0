"""Metric providers (fetch only): router, prometheus, http_json, cloudwatch."""
