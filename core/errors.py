"""Domain errors of the Customer 360 service, in one module.

The API maps each family to one HTTP status in one handler (api/errors.py); workers map them to
"retry" or "stop" through :class:`TransientError` and :class:`TerminalError`.
"""

from __future__ import annotations


class C360Error(Exception):
    """Raised for any failure the service understands; the base of every project error."""


class ConfigurationError(C360Error):
    """Raised when settings are missing or invalid at start-up; the message names the variable."""


class NotFoundError(C360Error):
    """Raised when a requested entity does not exist."""


class NoSuchCustomerError(NotFoundError):
    """Raised when no golden customer has the requested id or identifier."""


class CustomerMovedError(C360Error):
    """Raised when a customer id of an earlier build now names other customers (merged or split).

    `current_ids` holds one id after a merge and several after a split.
    """

    def __init__(self, customer_id: str, current_ids: list[str]):
        change = "merged into" if len(current_ids) == 1 else "split into"
        super().__init__(f"customer {customer_id} was {change} {', '.join(current_ids)}")
        self.customer_id = customer_id
        self.current_ids = current_ids


class NoSuchTableError(NotFoundError):
    """Raised when a lakehouse table has not been created yet (run `c360 run` or `c360 init`)."""


class ErasureFencedError(C360Error):
    """Raised when an erasure committed on a table after fenced work (a build, a batch landing) read its
    inputs: its outputs, computed from rows read before, could hold the erased subject again, so they
    are not written (a build stops; a batch is checked and landed again)."""


class InvalidInputError(C360Error):
    """Raised when caller input cannot be used, such as an identifier that does not normalise."""


class SchemaEvolutionError(C360Error):
    """Raised when incoming data would need an incompatible schema change (narrowing, type swap)."""


class CommitConflictError(C360Error):
    """Raised when a lakehouse commit still conflicts after every retry."""


class IngestError(C360Error):
    """Raised when ingestion fails; says which source, batch and offset, and whether a retry helps."""

    retryable = False

    def __init__(self, message: str, *, source: str, batch_id: str | None = None, offset: str | None = None):
        self.source = source
        self.batch_id = batch_id
        self.offset = offset
        where = (
            f"source={source}" + (f" batch={batch_id}" if batch_id else "") + (f" offset={offset}" if offset else "")
        )
        super().__init__(f"{message} ({where})")


class TransientError(IngestError):
    """Raised for failures a retry may fix: a dropped connection, a commit conflict, a timeout."""

    retryable = True


class TerminalError(IngestError):
    """Raised for failures a retry cannot fix: a wrong URL, a missing table, bad credentials."""
