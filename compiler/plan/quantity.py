"""Kubernetes resource quantities in the canonical form the API machinery writes back.

An engine's admission webhook decodes steps into Go structs and re-encodes them, so ``0.5`` is stored
as ``500m`` and ``1024Mi`` as ``1Gi``. Writing the canonical form keeps the GitOps controller from
reporting drift and keeps run names (content hashes) stable when a spec spells a quantity differently.
This mirrors ``resource.Quantity.CanonicalizeBytes`` of k8s.io/apimachinery.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal

from compiler.units import check_quantity

_BINARY = re.compile(r"(Ki|Mi|Gi|Ti|Pi|Ei)$")
_EXPONENT = re.compile(r"[eE][+-]?[0-9]+$")
_DECIMAL_SUFFIX = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
_BINARY_SUFFIX = {0: "", 1: "Ki", 2: "Mi", 3: "Gi", 4: "Ti", 5: "Pi", 6: "Ei"}
_NANO = Decimal("1e-9")


def _decimal(value: Decimal, exponent_form: bool) -> str:
    # mantissa * 10**exponent with the mantissa free of trailing zeros, then the exponent
    # lowered to a multiple of three (Go: int64Amount.AsCanonicalBytes).
    sign, digits, exponent = value.normalize().as_tuple()
    assert isinstance(exponent, int)
    mantissa = int("".join(map(str, digits)))
    shift = exponent % 3
    mantissa *= 10**shift
    exponent -= shift
    text = f"{'-' if sign else ''}{mantissa}"
    if exponent_form:
        return text + (f"e{exponent}" if exponent else "")
    suffix = _DECIMAL_SUFFIX.get(exponent)
    return text + (suffix if suffix is not None else f"e{exponent}")


def canonical_quantity(text: str) -> str:
    value = check_quantity(text)
    # Go keeps at most nano precision and rounds anything finer up.
    value = (value / _NANO).to_integral_value(rounding=ROUND_CEILING) * _NANO
    if value == 0:
        return "0"
    stripped = text.strip()
    if _BINARY.search(stripped) and abs(value) >= 1024 and value == value.to_integral_value():
        amount, power = int(value), 0
        while amount % 1024 == 0 and power < 6:
            amount //= 1024
            power += 1
        return f"{amount}{_BINARY_SUFFIX[power]}"
    return _decimal(value, exponent_form=bool(_EXPONENT.search(stripped)))
