"""HTTP for the load engine: the hot-path callback client over httptools, the per-VU browser-like session and its
models (headers, cookies, responses), HTML helpers and Server-Sent Events. Builds on `load.metrics` only."""
