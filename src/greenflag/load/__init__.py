"""greenflag.load."""
