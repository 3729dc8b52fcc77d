"""A bounded HTTP/1.1 load generator for loopback benchmarks: keep-alive connections, raw asyncio.

Lighter than an HTTP library per request, so on a small machine the server, not the client, is
what is measured. Each of `connections` sends its next request when the last answer is read;
the run stops after `seconds` and reports requests/s and latency percentiles of the answers.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class LoadResult:
    """What a run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]

    @property
    def rps(self) -> float:
        """Requests per second over the run."""
        return self.requests / self.seconds


async def _connection(
    host: str, port: int, next_path: Callable[[], str], headers: str, until: float, latencies: list[float],
    statuses: dict[int, int],
) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(f"GET {next_path()} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


def run_load(
    host: str, port: int, next_path: Callable[[], str], *, headers: dict[str, str], connections: int, seconds: float
) -> LoadResult:
    """Drive the server for `seconds` with `connections` keep-alive connections."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    header_lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())

    async def main() -> float:
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(
            *(_connection(host, port, next_path, header_lines, until, latencies, statuses) for _ in range(connections))
        )
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    cuts = statistics.quantiles(latencies, n=100)
    return LoadResult(len(latencies), elapsed, cuts[49] * 1000, cuts[98] * 1000, statuses)
