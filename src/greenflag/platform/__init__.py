"""Where a version runs."""
