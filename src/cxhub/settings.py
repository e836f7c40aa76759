"""One typed settings object, read from the environment (prefix CXHUB_) and passed explicitly."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """cxhub's settings. Every field can be set as an environment variable, e.g. CXHUB_HOME."""

    model_config = SettingsConfigDict(env_prefix="CXHUB_", extra="ignore")

    home: Path = Field(Path("cxhub-data"), description="folder holding the warehouse file")
    host: str = Field("127.0.0.1", description="address `cxhub serve` listens on")
    port: int = Field(8000, description="port `cxhub serve` listens on")
    engine_url: str | None = Field(
        None, description="reserved: the commands and the server always use DuckDB today; the "
        "analytics run on Spark from Python (cxhub.warehouse.engines.connect)"
    )
    max_body_bytes: int = Field(
        32 * 1024 * 1024, description="largest API request body accepted; larger ones get 413"
    )
    max_batch: int = Field(10_000, description="largest number of records in one API batch")
    min_public_count: int = Field(
        10, description="figures built from fewer contacts are suppressed on public pages"
    )

    alert_webhook: str | None = Field(
        None, description="URL that listening alerts are POSTed to as JSON (none: not sent)"
    )

    classify_interval: float = Field(
        2.0, ge=0, description="seconds between the server's runs of the classifier over new "
        "contacts and mentions; 0 turns it off"
    )

    trusted_proxies: str | None = Field(
        None, description="comma-separated addresses of reverse proxies whose X-Forwarded-For "
        "and X-Forwarded-Proto are believed; none by default, so a client cannot choose the "
        "address that login throttling counts"
    )

    memory_limit: str = Field(
        "25%", description="most memory DuckDB may hold for the warehouse (its buffer pool and "
        "the rows written since the last checkpoint), as a size (`2GB`, `512MB`) or a share of "
        "the machine's memory (`25%`); beyond it DuckDB spills to disk or refuses the query. "
        "DuckDB's own default is 80 %, which leaves too little for the server's Python heap, "
        "the classifier's models and the rest of the machine"
    )

    renew_minutes: float = Field(
        10.0, ge=0, description="how often a running server closes DuckDB's instance and opens "
        "the warehouse file again, when anything was written since the last time, to give back "
        "the memory DuckDB keeps until its instance closes (docs/reliability.md); the swap "
        "takes a fraction of a second, during which requests wait. 0: never"
    )

    demo_live_feed: bool = Field(
        False, description="simulate live contacts arriving (what `cxhub demo` turns on)"
    )

    @field_validator("memory_limit")
    @classmethod
    def _memory_limit(cls, value: str) -> str:
        return memory_limit(value)

    @property
    def warehouse_path(self) -> Path:
        return self.home / "cxhub.duckdb"


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)", re.I)
_SHARE = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def memory_limit(value: str) -> str:
    """`value` as DuckDB's memory_limit takes it, or a ValueError that says what is accepted."""
    text = value.strip()
    size, share = _SIZE.fullmatch(text), _SHARE.fullmatch(text)
    if size and float(size.group(1)) > 0:
        return f"{size.group(1)}{size.group(2).upper()}"
    if share and 0 < float(share.group(1)) <= 100:
        return f"{share.group(1)}%"
    raise ValueError(
        f"CXHUB_MEMORY_LIMIT={value!r} is not a memory size: give a size such as 2GB or 512MB, "
        "or a share of the machine's memory from 1% to 100%, such as 25%")
