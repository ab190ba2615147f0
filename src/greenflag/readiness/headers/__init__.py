"""The security-headers check: MDN HTTP Observatory's ten tests and its score, re-implemented. `csp`, `facts`,
`rules` and `grade` are pure; `collect` does the HTTP requests; `check.check_headers` ties them together."""
