"""The embedded router: an asyncio HTTP/1.1 reverse proxy with weighted routing, an admin API and live stats.

One request's path. **Client**: a client connection (`client.ClientConnection`, an asyncio Protocol with an
httptools parser) reads the request head and checks it (`http1.check_request`: origin-form target, one framing,
no upgrades; a refused request is answered 400 and its connection closed), then queues it as an `Exchange`.
**Dispatch**: the client connection hands it to the core (`core.ProxyCore.dispatch`). **Route choice**: the
core asks the route table (`routing.RouteTable.choose`, pure) for a backend: the route header first, then the
sticky cookie while its backend takes traffic, then a weighted pick over the backends that are up; none gives
503. **Upstream**: the core takes an idle keep-alive connection from the backend's pool or opens one
(`upstream.UpstreamConnection`), which writes the rewritten head (`http1.request_head`) and streams the body;
a failed connect retries a GET or HEAD without a body once on another backend, otherwise answers 502.
**Response**: the upstream parser's callbacks write the status line, headers and body straight into the
client connection (`response_head`, `response_body`, `response_done`); the core records the status and latency
in `stats`, and the client connection goes on to its next pipelined request.

`server.EmbeddedRouter` owns the listener, the core, the weights and drains; `admin` (the token-protected
admin API) and `exposition` (Prometheus) are views over it; `driver` is the `Router` that rollouts use to steer
it through the admin API. `protocols` names what each of these parts calls on the others.
"""
