"""What happened, for people and for CI: JUnit XML (junit)."""
