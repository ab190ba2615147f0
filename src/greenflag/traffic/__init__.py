"""Traffic routers: the embedded asyncio router and drivers for external load balancers."""
