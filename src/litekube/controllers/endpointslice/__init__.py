"""The EndpointSlice controller (see `controller.py`)."""

from litekube.controllers.endpointslice.controller import ENDPOINT_SLICES, EndpointSliceController

__all__ = ["ENDPOINT_SLICES", "EndpointSliceController"]
