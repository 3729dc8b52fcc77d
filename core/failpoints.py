"""Crash points for the crash tests: the process kills itself where `C360_FAILPOINT` says.

Never set in production. A failpoint is named after what is about to happen, e.g.
`commit:raw.pg_orders` fires after a batch's data files are written and before its commit.
"""

from __future__ import annotations

import os
import signal

ENV = "C360_FAILPOINT"


def failpoint(name: str) -> None:
    """SIGKILL this process if `C360_FAILPOINT` equals `name` (an abrupt crash: no cleanup runs)."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
