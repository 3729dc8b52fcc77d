"""A bounded HTTP/1.1 load generator for loopback benchmarks: keep-alive connections, raw asyncio.

Lighter than an HTTP library per request, so on a small machine the server, not the client, is
what is measured. Each of `connections` sends its next request when the last answer is read;
the run stops after `seconds` and reports requests/s and latency percentiles of the answers.

A server with several worker processes shares one listening socket, and which worker accepts a
connection is chance: a worker woken first may take every connection dialled at once, leaving the
others idle, so the same server measured ~6,000 or ~9,500 requests/s from one run to the next on
two cores. Given `owner` (which server process holds a connection), connections are dialled one
at a time and re-dialled until the workers hold equal shares, as many clients' connections would be.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import psutil

Owner = Callable[[int], int | None]  # a client port -> the id of the server process holding it
REDIALS = 200


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


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _request(stream: Stream, path: str, host: str, headers: str) -> int:
    """Send one GET and read its whole answer; its status."""
    reader, writer = stream
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return int(head[9:12])


async def _drive(
    stream: Stream, host: str, next_path: Callable[[], str], headers: str, until: float, latencies: list[float],
    statuses: dict[int, int],
) -> None:  # fmt: skip
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            status = await _request(stream, next_path(), host, headers)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        stream[1].close()


async def _dial(
    host: str, port: int, connections: int, owner: Owner | None, workers: int, probe: Callable[[], str], headers: str
) -> list[Stream]:
    """Open the connections; with `owner`, one at a time, re-dialling any that lands on a worker already
    holding its share (each answers one request first, so its worker has accepted it)."""
    if owner is None:
        return list(await asyncio.gather(*(asyncio.open_connection(host, port) for _ in range(connections))))
    share = -(-connections // workers)
    held: Counter[int | None] = Counter()
    streams: list[Stream] = []
    for _ in range(REDIALS):
        if len(streams) == connections:
            return streams
        stream = await asyncio.open_connection(host, port)
        await _request(stream, probe(), host, headers)
        worker = owner(stream[1].get_extra_info("sockname")[1])
        if worker is not None and held[worker] < share:
            held[worker] += 1
            streams.append(stream)
        else:
            stream[1].close()
    raise RuntimeError(f"could not spread {connections} connections over {workers} workers: {dict(held)}")


def run_load(
    host: str, port: int, next_path: Callable[[], str], *, headers: dict[str, str], connections: int, seconds: float,
    owner: Owner | None = None, workers: int = 1,
) -> LoadResult:  # fmt: skip
    """Drive the server for `seconds` with `connections` keep-alive connections (spread over its `workers`
    when `owner` tells which worker holds a connection)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    header_lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())

    async def main() -> float:
        streams = await _dial(host, port, connections, owner, workers, next_path, header_lines)
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(
            *(_drive(stream, host, next_path, header_lines, until, latencies, statuses) for stream in streams)
        )
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    cuts = statistics.quantiles(latencies, n=100)
    return LoadResult(len(latencies), elapsed, cuts[49] * 1000, cuts[98] * 1000, statuses)


def connection_owner(server_pid: int, port: int) -> Owner:
    """Which process under `server_pid` (a multi-worker server listening on `port`) holds a client port."""
    server = psutil.Process(server_pid)

    def owner(client_port: int) -> int | None:
        for process in server.children(recursive=True):
            for connection in process.net_connections(kind="tcp"):
                if (
                    connection.laddr
                    and connection.laddr.port == port
                    and connection.raddr
                    and connection.raddr.port == client_port
                ):
                    return process.pid
        return None

    return owner
