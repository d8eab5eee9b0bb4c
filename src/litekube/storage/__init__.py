"""Revisioned key/value storage (the kine model).

Only `litekube.apiserver` imports this package. See `types.py` for the interface.
"""
