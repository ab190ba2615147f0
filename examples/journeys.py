"""Journeys through greenflag's reference service (`greenflag demo-app`): pages, the contact form, the API, SSE.

greenflag demo-app --port 8080 --version v1 &
greenflag load run examples/journeys.py --host http://127.0.0.1:8080 --vus 20 --duration 20s
"""

from greenflag import User, between, task
from greenflag.load.scenarios.feeders import Feeder

contacts = Feeder("data/contacts.csv")  # relative to this file; loaded once, shared by every VU

options = {
    "vus": 10,
    "duration": "30s",
    "thresholds": {
        "http_req_duration": ["p(95)<2000"],
        "http_req_failed": ["rate<0.01"],
        "checks": ["rate>0.99"],
        "sse_time_to_first_event": ["p(95)<2000"],
    },
}


class Visitor(User):
    """Someone reading the site, sometimes writing to us, sometimes watching the live stream."""

    wait_time = between(0.5, 2)

    @task(5)
    async def browse(self) -> None:
        with self.step("browse"):
            home = await self.http.get("/", name="home")
            self.check(home, "home is 200", lambda r: r.status == 200)
            self.check(home, "home names its version", lambda r: r.css("#version")[0].text != "")
            await self.http.get("/pricing", name="pricing")
            await self.http.get("/about", name="about")

    @task(2)
    async def contact(self) -> None:
        row = contacts.next()
        with self.step("contact"):
            page = await self.http.get("/contact", name="contact form")
            self.check(page, "form has a CSRF token", lambda r: r.form("form#contact").values()["csrf_token"] != "")
            sent = await page.submit_form("form#contact", row, name="contact submit")
            self.check(sent, "contact stored", lambda r: [h.status for h in r.history] == [303] and r.status == 200)

    @task(3)
    async def api(self) -> None:
        with self.step("api"):
            listing = await self.http.get("/api/items?page=1", name="/api/items")
            items = listing.json()["items"] if listing.status == 200 else []
            self.check(listing, "items listed", lambda r: r.status == 200 and len(items) > 0)
            if items:
                await self.http.get(f"/api/items/{items[self.iteration % len(items)]['id']}", name="/api/items/{id}")

    @task(1)
    async def live(self) -> None:
        with self.step("live"):
            async with self.http.sse("/events", name="/events") as stream:
                first = await stream.next_event(timeout=5)  # None when nothing arrives in time
                second = await stream.next_event(timeout=5)
                self.check(first, "live event received", lambda e: e is not None and e.event == "tick")
                ids = [int(e.id or 0) for e in (first, second) if e is not None]
                self.check(ids, "live events in order", lambda ids: len(ids) == 2 and ids[1] == ids[0] + 1)
