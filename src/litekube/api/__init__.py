"""The API model: resource types, defaults, validation, patches, printing, selectors.

Objects are plain dicts (as decoded from JSON) everywhere: unknown and future fields
survive round trips, as in Kubernetes.
"""
