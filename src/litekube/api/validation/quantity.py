"""Resource quantities ("128Mi", "100m", "1e3") parsed to exact fractions.

Only what validation needs: is the text a quantity, and compare two of them. The grammar is
upstream's `resource.ParseQuantity`: a signed decimal number, then either a binary suffix
(Ki..Ei), a decimal SI suffix (n, u, m, "", k, M, G, T, P, E) or an exponent (e3, E-2).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

_QUANTITY_RE = re.compile(
    r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def parse_quantity(value: Any) -> Fraction | None:
    """The exact value of a quantity, or None when the text is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(value)
    if not isinstance(value, str):
        return None
    match = _QUANTITY_RE.match(value.strip() if value == value.strip() else "\0")
    if not match:
        return None
    number = Fraction(match.group(1))
    suffix = match.group(2) or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * Fraction(10) ** _DECIMAL[suffix]
    if suffix[:1] in ("e", "E"):
        return number * Fraction(10) ** int(suffix[1:])
    return number
