"""The one error the API raises on purpose: a status and a message for the client (``{"Error": ...}``)."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
