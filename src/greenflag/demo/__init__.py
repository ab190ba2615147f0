"""greenflag.demo."""
