"""Exact amounts: integer base units scaled by a currency's decimal places.

API amounts are decimal strings in human units ("12.50"); storage holds integers (1250).
Floats never enter: a float from JSON is read through its shortest repr."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

__all__ = [
    "MAX_DECIMALS",
    "MAX_UNITS",
    "AmountError",
    "format_units",
    "parse_amount",
    "to_decimal",
    "units_from_decimal",
]

MAX_DECIMALS = 18
# Any single amount or balance stays well inside a signed 64-bit column, with room to sum
# many of them.
MAX_UNITS = 10**17
# Plain decimal text: digits, an optional fraction and exponent. No "1_000" (which Python's
# Decimal reads as 1000), no "Infinity", no spaces inside.
_DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
# Far beyond any amount (MAX_UNITS) or scale (MAX_DECIMALS) that can be valid: refusing these
# early keeps scaleb/quantize clear of decimal.Overflow ("1e999999").
_MAX_MAGNITUDE = 40


class AmountError(ValueError):
    """An amount that is not a number, has too many decimal places, or is too large."""


def to_decimal(value: object) -> Decimal:
    """Read a JSON number or a decimal string exactly."""
    if isinstance(value, bool):
        raise AmountError("must be a number, not a boolean")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if _DECIMAL_TEXT.fullmatch(text) is None:
            raise AmountError('must be a decimal number such as "12.50"')
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise AmountError('must be a decimal number such as "12.50"') from None
    elif isinstance(value, Decimal):
        result = value
    else:
        raise AmountError("must be a number or a decimal string")
    if not result.is_finite():
        raise AmountError("must be a finite number")
    if result and result.adjusted() > _MAX_MAGNITUDE:
        raise AmountError("is too large")
    if result.as_tuple().exponent < -(_MAX_MAGNITUDE + MAX_DECIMALS):  # type: ignore[operator]
        raise AmountError(f"has more than {MAX_DECIMALS} decimal places")
    return result


def parse_amount(value: object, decimals: int, *, allow_negative: bool = False) -> int:
    """Human units to base units, refusing extra places rather than rounding them away."""
    amount = to_decimal(value)
    if amount < 0 and not allow_negative:
        raise AmountError("must not be negative")
    scaled = amount.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise AmountError(f"has more than {decimals} decimal places")
    units = int(scaled)
    if abs(units) > MAX_UNITS:
        raise AmountError("is too large")
    return units


def units_from_decimal(amount: Decimal, decimals: int) -> int:
    """Computed amounts (usage x rate) to base units, rounding half to even."""
    units = int(amount.scaleb(decimals).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    if abs(units) > MAX_UNITS:
        raise AmountError("is too large")
    return units


def format_units(units: int, decimals: int) -> str:
    """Base units to a human decimal string with exactly ``decimals`` places."""
    if decimals == 0:
        return str(units)
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}"
