"""Connector errors: one Swedish sentence an analyst can act on, always saying that nothing
was changed (a connector raises before anything is written)."""

from __future__ import annotations

NOTHING_CHANGED = "Inget har ändrats."


class ConnectorError(Exception):
    """Base class. `str(exc)` is the full Swedish message, ending with 'Inget har ändrats.'"""

    def __init__(self, message: str):
        message = message.rstrip()
        if not message.endswith(NOTHING_CHANGED):
            message = f"{message.rstrip('.')}. {NOTHING_CHANGED}"
        super().__init__(message)
        self.message = message


class NetworkError(ConnectorError):
    """The source could not be reached, timed out or kept failing (after retries)."""


class RateLimitError(NetworkError):
    """The source kept refusing calls for sending too many (403/429) after waiting."""


class FormatError(ConnectorError):
    """The response is not in the format the connector knows: a changed API, a truncated
    body, an unexpected variable or code. Never turned into numbers."""


class ConfigError(ConnectorError):
    """config/connectors.toml is missing something or names something the source lacks."""
