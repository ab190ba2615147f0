"""greenflag.traffic.embedded."""
