"""A User class the scenario tests share: two weighted tasks and a helper that is not a task."""

from __future__ import annotations

from greenflag import User, task

__all__ = ["Shop"]


class Shop(User):
    @task(3)
    async def browse(self) -> None: ...

    @task
    async def buy(self) -> None: ...

    async def helper(self) -> None: ...
