"""Controllers, one package per resource, run together by `manager.ControllerManager`.

Each controller follows the shape in `litekube.machinery`: handlers on shared informers
enqueue keys, workers run `sync(key)`. They reach the API only through `litekube.client`.
Shared pod facts live in `pods.py`, the resource types in `resources.py`.
"""
