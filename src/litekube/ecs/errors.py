"""The one fatal error of the ECS bridge: input that cannot be converted at all.

Everything that can be converted with a caveat becomes an explanation record instead
(see `explain.py`); only input that leaves nothing sensible to emit (not JSON, not an
ECS document, no containers, a dependency cycle) raises `EcsInputError`. The CLI turns
it into one line on stderr and exit code 2, before anything is written.
"""

from __future__ import annotations


class EcsInputError(Exception):
    """Input that cannot be converted; `file` names the input, `problem` says why."""

    def __init__(self, file: str, problem: str) -> None:
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem
