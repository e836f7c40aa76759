"""Errors users see. Each message names what to fix: the file, the line, the field."""

from __future__ import annotations


class CxhubError(Exception):
    """Base for errors shown to users without a traceback."""


class IngestError(CxhubError):
    """A file could not be read at all (missing, unreadable, wrong columns)."""


class MappingError(CxhubError):
    """A mapping YAML is invalid."""


class WarehouseBusyError(CxhubError):
    """The warehouse file is held by another process."""


class WarehouseUnavailableError(CxhubError):
    """The disk refused the warehouse file: read-only, no permission, full. What was being
    written was rolled back; the file is as it was before."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason  # the operating system's words, without the file's path


class NotFoundError(CxhubError):
    pass
