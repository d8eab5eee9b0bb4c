"""Garbage collector: background, foreground and orphan deletion through ownerReferences."""

from litekube.controllers.garbagecollector.controller import DEFAULT_RESOURCES, GarbageCollector

__all__ = ["DEFAULT_RESOURCES", "GarbageCollector"]
