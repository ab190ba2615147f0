"""The journeys `greenflag demo` sends through the reference service: pages, the contact form (CSRF), the JSON
API and the live SSE stream. (`examples/journeys.py` is the annotated version to copy from.)"""

from greenflag import User, between, task

options = {
    "thresholds": {
        "http_req_duration": ["p(95)<2000"],
        "http_req_failed": ["rate<0.01"],
    },
}


class Visitor(User):
    wait_time = between(0.2, 1.0)

    @task(6)
    async def browse(self) -> None:
        with self.step("browse"):
            home = await self.http.get("/", name="home")
            self.check(home, "home is 200", lambda r: r.status == 200)
            await self.http.get("/pricing", name="pricing")

    @task(2)
    async def contact(self) -> None:
        with self.step("contact"):
            page = await self.http.get("/contact", name="contact form")
            fields = {"email": f"visitor{self.vu_id}@example.com", "message": "Hello from the greenflag demo"}
            sent = await page.submit_form("form#contact", fields, name="contact submit")
            self.check(sent, "contact stored", lambda r: r.status == 200 and [h.status for h in r.history] == [303])

    @task(3)
    async def api(self) -> None:
        with self.step("api"):
            listing = await self.http.get("/api/items?page=1", name="/api/items")
            self.check(listing, "items listed", lambda r: r.status == 200)

    @task(1)
    async def live(self) -> None:
        with self.step("live"):
            async with self.http.sse("/events", name="/events") as stream:
                event = await stream.next_event(timeout=5)
                self.check(event, "live event received", lambda e: e is not None)
