"""The error every problems use case raises for bad input: it names the field at fault."""

from __future__ import annotations

from cxhub.domain.errors import CxhubError, NotFoundError


class ProblemInputError(CxhubError):
    """Bad input to a problems use case; `field` names what to fix (cause, since, state ...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class ProblemNotFoundError(NotFoundError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message
