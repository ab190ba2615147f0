"""Rollouts: the pure step machine, the controller, the journal, hooks and notifications."""
