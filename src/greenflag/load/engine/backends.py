"""Where a spread run's workers run (`--backend`): an explicit table of backends, imported only when chosen (Ray
is an optional dependency), and the links the coordinator talks to them through."""

from __future__ import annotations

import importlib
from typing import Any

from greenflag.load.engine.links import InProcessLink, Link
from greenflag.load.engine.local import Job, LocalLink
from greenflag.load.engine.runconfig import RunConfig

__all__ = ["BACKEND_LINKS", "links_for"]

# backend → "module:function(config) -> list[Link]" for the backends that are not built in
BACKEND_LINKS = {"ray": "greenflag.load.engine.ray_backend:ray_links"}


def links_for(config: RunConfig) -> list[Link]:
    distribution = config.distribution
    if distribution.backend in BACKEND_LINKS:
        module, _, name = BACKEND_LINKS[distribution.backend].partition(":")
        factory: Any = getattr(importlib.import_module(module), name)
        links: list[Link] = factory(config)
        return links
    if distribution.workers <= 1:
        return [InProcessLink(config.scenarios)]
    if distribution.build is None:
        raise ValueError("a run with several workers needs Distribution.build (greenflag.load.run.prepare sets it)")
    count = distribution.workers
    return [LocalLink(Job(index, count, distribution.build, distribution.payload)) for index in range(count)]
