"""Project exception types.

`StrandsetFormatError` is the one error a malformed row raises (a `ValueError`, so callers
that only know the standard library can still catch it). `UserFacingError` is for problems
with the user's request or environment (missing file, no network, no token): the CLI prints
its message as one line and exits 2.
"""

from __future__ import annotations


class StrandsetFormatError(ValueError):
    """A row or field does not match the Strandset schema."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UserFacingError(RuntimeError):
    """A problem the user can fix; the message is complete and says what to do."""

    exit_code = 2
