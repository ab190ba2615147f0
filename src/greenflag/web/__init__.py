"""greenflag.web."""
