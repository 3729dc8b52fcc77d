"""Seeded generator of messy omnichannel retail data for ShopSphere, with ground truth.

Writes the source extracts (PostgreSQL tables as CSV, the MongoDB marketplace collection and the
Kafka behavioural topic as JSONL) plus truth/ files naming the real person behind every record,
the injected fraud and the deliberately broken records. The same (customers, seed) always gives
byte-identical files, whether the chunks of people run serially or in forked worker processes.

Noise identity resolution must cope with (details in the modules named, columns in README.md):

* duplicate sign-ups with e-mail variants (case, spaces, +tags, gmail dots, googlemail.com) or a
  new e-mail with the same phone (people.py);
* phones in many layouts, GB and US; name typos, nicknames, lost accents, odd case (noise.py);
* junk phones and e-mails typed at tills, shared by unrelated people (people.py, orders.py);
* households sharing one e-mail and address under different first names (people.py);
* till orders keyed by loyalty id or phone or neither, marketplace relay e-mails (orders.py,
  marketplace.py); anonymous devices that log in later and the shared store kiosk (events.py).

Fraud (fraud.py): velocity, new_account_high_value, shared_device, bot_speed,
failed_logins_then_purchase, cross_channel_duplicate, value_spike, identifier_burst.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import random
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sample_data.activity import ChunkResult, run_chunk, write_activity
from sample_data.world import World, build_world, write_reference
from sample_data.writer import Outputs

logger = logging.getLogger(__name__)

CHUNK_PEOPLE = 5_000
MAX_WORKERS = 8

_shared: tuple[World, int, int, Path] | None = None  # set in forked workers only


def generate(out_dir: Path, *, customers: int, seed: int = 7) -> dict[str, int]:
    """Write every source file and the ground truth into out_dir; return rows written per file name.

    Args:
        out_dir: Folder for the source files; ground truth goes to out_dir/truth. Created if missing.
        customers: Number of real people to simulate (accounts, orders and events scale with it).
        seed: Seed of the random streams, so output is reproducible byte for byte.

    Returns:
        Data rows written per file, keyed by path relative to out_dir (e.g. "truth/records.csv").

    Raises:
        ValueError: If customers is smaller than 1.
    """
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    started = time.perf_counter()
    rng = random.Random(seed)
    out_dir = Path(out_dir)
    with (
        _gc_paused(),
        tempfile.TemporaryDirectory(prefix="c360-sample-") as tmp,
        Outputs(out_dir) as out,
    ):
        world = build_world(rng, customers)
        with _chunk_results(world, seed, Path(tmp)) as results:
            write_reference(rng, world, out)  # runs while forked workers draw the activity
            write_activity(out, world, results)
    logger.info("generated %d customers into %s in %.1fs", customers, out_dir, time.perf_counter() - started)
    return dict(out.counts)


@contextmanager
def _chunk_results(world: World, seed: int, tmp: Path) -> Iterator[Iterable[ChunkResult]]:
    """Results of every chunk in chunk order: from forked workers when that is safe and worth it."""
    chunks = range((len(world.people) + CHUNK_PEOPLE - 1) // CHUNK_PEOPLE)
    workers = min(len(chunks), os.cpu_count() or 1, MAX_WORKERS)
    if workers < 2 or not _can_fork():
        yield (run_chunk(world, seed, chunk, CHUNK_PEOPLE, tmp) for chunk in chunks)
        return
    context = multiprocessing.get_context("fork")
    # Forked children inherit the world as it is; only chunk numbers and results are pickled.
    with context.Pool(workers, initializer=_adopt, initargs=((world, seed, CHUNK_PEOPLE, tmp),)) as pool:
        yield pool.imap(_run_shared, chunks)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: its full passes over ~10^5 live people cost seconds and find nothing.

    Per-person objects form no reference cycles, so reference counting frees them as before.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _can_fork() -> bool:
    """Forking is only safe from a single-threaded process on a platform that has fork."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _adopt(shared: tuple[World, int, int, Path]) -> None:
    global _shared
    _shared = shared


def _run_shared(chunk: int) -> ChunkResult:
    assert _shared is not None
    world, seed, size, tmp = _shared
    return run_chunk(world, seed, chunk, size, tmp)
