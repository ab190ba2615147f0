"""`cdn:` — the caches a release invalidates once traffic has moved: a CloudFront distribution (CreateInvalidation,
waited for until it completes) and HTTP purges (PURGE or BAN requests to caches such as Varnish or nginx)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from greenflag.spec.base import Duration, Model

__all__ = ["CdnSpec", "CloudFrontSpec", "Moment", "PurgeSpec"]

Moment = Literal["promote", "rollback"]  # when the caches are invalidated


class CloudFrontSpec(Model):
    distribution_id: str = Field(pattern=r"^[A-Z0-9]{1,64}$")
    paths: list[str] = Field(default_factory=lambda: ["/*"], min_length=1, max_length=3000)
    region: str = "us-east-1"
    endpoint_url: str | None = None  # another CloudFront API endpoint (LocalStack, moto); default: AWS's
    wait: bool = True  # wait until the invalidation is Completed
    timeout: Duration = 900.0  # deadline for the invalidation to complete
    poll_interval: Duration = Field(10.0, gt=0)

    @field_validator("paths")
    @classmethod
    def _paths(cls, paths: list[str]) -> list[str]:
        bad = [p for p in paths if not p.startswith("/")]
        if bad:
            raise ValueError(f"a path starts with '/' (such as /index.html or /images/*): {bad[0]!r}")
        return paths


class PurgeSpec(Model):
    url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$")
    method: str = Field("PURGE", pattern=r"^[A-Z][A-Z_-]{0,31}$")  # PURGE, BAN, or your cache's own
    headers: dict[str, str] = Field(default_factory=dict)
    expect_status: list[int] = Field(default_factory=lambda: list(range(200, 300)), min_length=1)
    timeout: Duration = 10.0


class CdnSpec(Model):
    cloudfront: CloudFrontSpec | None = None
    purge: list[PurgeSpec] = Field(default_factory=list)
    when: list[Moment] = Field(default_factory=lambda: list[Moment](["promote", "rollback"]))
    delay: Duration = 1.0  # after the traffic moved, before invalidating: the old version's last answers land first

    @model_validator(mode="after")
    def _something(self) -> CdnSpec:
        if self.cloudfront is None and not self.purge:
            raise ValueError("give cloudfront, purge, or both")
        return self
