"""Namespace controller: deleting a namespace deletes its contents, then the namespace."""

from litekube.controllers.namespace.controller import NAMESPACED_RESOURCES, NamespaceController

__all__ = ["NAMESPACED_RESOURCES", "NamespaceController"]
