"""The WAF check: a payload corpus (shipped as YAML in `corpus/`) sent through placeholders and encoders,
scored GoTestWAF's way. `plan` and `score` and `evaluate` are pure; `send` does the network I/O."""
