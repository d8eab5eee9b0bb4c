"""ServiceAccount controller: the `default` ServiceAccount in every namespace."""

from litekube.controllers.serviceaccount.controller import ServiceAccountsController

__all__ = ["ServiceAccountsController"]
