"""The Endpoints controller (`controller.py`) and the backend computation both controllers share."""

from litekube.controllers.endpoints.controller import ENDPOINTS, EndpointsController

__all__ = ["ENDPOINTS", "EndpointsController"]
