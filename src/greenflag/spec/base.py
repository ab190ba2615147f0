"""The vocabulary every section of the release spec shares: the strict base model and durations."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

from greenflag.units import parse_duration, parse_size

__all__ = ["Duration", "Model", "Size"]


Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]  # bytes: 1024, '64k', '100m'


class Model(BaseModel):
    """A spec section: unknown keys are errors, values are frozen once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)
