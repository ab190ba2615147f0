"""greenflag.report."""
