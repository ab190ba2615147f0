"""The seed's user profile against the reference service: most users browse, write and use the API; one in ten
keeps the live event stream open. Run by bench/seed_profile/run.py (see README.md there)."""

from greenflag import User, between, task
from greenflag.load.scenarios.feeders import Feeder

contacts = Feeder("../../examples/data/contacts.csv")

options = {
    "vus": 1000,
    "duration": "5m",
    "thresholds": {
        "http_req_duration": ["p(95)<2000"],
        "http_req_failed": ["rate<0.01"],
        "sse_time_to_first_event": ["p(95)<2000"],
    },
}


class Visitor(User):
    weight = 9
    wait_time = between(2, 6)

    @task(5)
    async def browse(self) -> None:
        with self.step("browse"):
            home = await self.http.get("/", name="home")
            self.check(home, "home is 200", lambda r: r.status == 200)
            await self.http.get("/pricing", name="pricing")

    @task(1)
    async def contact(self) -> None:
        with self.step("contact"):
            page = await self.http.get("/contact", name="contact form")
            sent = await page.submit_form("form#contact", contacts.next(), name="contact submit")
            self.check(sent, "contact stored", lambda r: r.status == 200 and len(r.history) == 1)

    @task(3)
    async def api(self) -> None:
        with self.step("api"):
            listing = await self.http.get(f"/api/items?page={1 + self.iteration % 5}", name="/api/items")
            self.check(listing, "items listed", lambda r: r.status == 200)
            if listing.status == 200:
                item = listing.json()["items"][0]["id"]
                await self.http.get(f"/api/items/{item}", name="/api/items/{id}")


class LiveViewer(User):
    """Keeps the event stream open for about 30 s per iteration, as a dashboard tab would."""

    weight = 1
    wait_time = between(1, 3)

    @task
    async def watch(self) -> None:
        with self.step("live"):
            async with self.http.sse("/events", name="/events") as stream:
                received = 0
                async for _event in stream:
                    received += 1
                    if received >= 60:
                        break
                self.check(received, "live stream delivered", lambda n: n >= 60)
