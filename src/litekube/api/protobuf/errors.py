"""The one exception the protobuf decoder raises."""

from __future__ import annotations


class ProtobufError(ValueError):
    """A protobuf body that cannot be decoded.

    `status` is the HTTP status the apiserver answers with: 400 for a malformed body, 415 for a well-formed
    body of a kind this server cannot decode from protobuf (the upstream apiserver's answer to a content
    type it does not support for a resource).
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
