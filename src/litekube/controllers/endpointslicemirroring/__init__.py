"""The EndpointSlice mirroring controller (`controller.py`) and its pure desired-state step (`desired.py`)."""

from litekube.controllers.endpointslicemirroring.controller import (
    CONTROLLER_NAME,
    EndpointSliceMirroringController,
)

__all__ = ["CONTROLLER_NAME", "EndpointSliceMirroringController"]
