"""The values a spec holds: how to show them in a sentence, how to read a pair, and how to check them.

Each check returns None when the value is fine, else the end of a sentence in the current language ("must be a
whole number of 1 or more, not 0"), which the caller puts after the argument's name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import Any

from lab import i18n
from lab.i18n import t

MAX_INT = 2**31 - 1  # the largest size, count or seed; TensorFlow keeps many of them in 32 bits

Check = Callable[[Any], "str | None"]


def show(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, so a huge or deep value never floods a message."""
    try:
        text = repr(value)
    except RecursionError:
        text = t("spec.value.deeply_nested", kind=type(value).__name__)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def ints(value: Any) -> tuple[int, int]:
    """An int or a pair of ints, as Keras reads kernel_size, strides and pool_size."""
    if isinstance(value, (list, tuple)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def times(pair: tuple[int, ...]) -> str:
    return "×".join(str(v) for v in pair)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    if not isinstance(value, Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an int beyond any float
        return False


def positive_int(value: Any) -> str | None:
    if not is_int(value) or value <= 0:
        return t("spec.value.positive_int", value=show(value))
    if value > MAX_INT:
        return t("spec.value.at_most", most=i18n.number(MAX_INT), value=i18n.number(value))
    return None


def positive_pair(value: Any) -> str | None:
    items = value if isinstance(value, (list, tuple)) else [value]
    if len(items) not in (1, 2) or isinstance(value, (list, tuple)) and len(items) != 2:
        return t("spec.value.pair", value=show(value))
    if not all(is_int(v) and 0 < v <= MAX_INT for v in items):
        return t("spec.value.pair_range", most=i18n.number(MAX_INT), value=show(value))
    return None


def optional_pair(value: Any) -> str | None:
    return None if value is None else positive_pair(value)


def one_of(choices: tuple[str, ...]) -> Check:
    def check(value: Any) -> str | None:
        if value not in choices:
            return t("spec.value.one_of", choices=", ".join(repr(c) for c in choices), value=show(value))
        return None
    return check


def optional_one_of(choices: tuple[str, ...]) -> Check:
    inner = one_of(choices)
    return lambda value: None if value is None else inner(value)


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else t("spec.value.boolean", value=show(value))


def number(value: Any) -> str | None:
    return None if is_number(value) else t("spec.value.number", value=show(value))


def rate(value: Any) -> str | None:
    if not is_number(value) or not 0 <= value < 1:
        return t("spec.value.rate", value=show(value))
    return None


def positive_number(value: Any) -> str | None:
    if not is_number(value) or value <= 0:
        return t("spec.value.positive_number", value=show(value))
    return None


def non_negative_number(value: Any) -> str | None:
    if not is_number(value) or value < 0:
        return t("spec.value.non_negative_number", value=show(value))
    return None


def optional_positive_number(value: Any) -> str | None:
    return None if value is None else positive_number(value)


def optional_non_negative_number(value: Any) -> str | None:
    return None if value is None else non_negative_number(value)


def optional_int(value: Any) -> str | None:
    if value is None or is_int(value) and 0 <= value <= MAX_INT:
        return None
    return t("spec.value.optional_int", most=i18n.number(MAX_INT), value=show(value))


def optional_count(least: int) -> Check:
    def check(value: Any) -> str | None:
        if value is None or is_int(value) and least <= value <= MAX_INT:
            return None
        return t("spec.value.optional_count", least=least, value=show(value))
    return check


def factor(value: Any) -> str | None:
    """A random-augmentation factor: one number f (meaning −f…f) or a pair (low, high), within −1…1."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(items) != (2 if isinstance(value, (list, tuple)) else 1) or not all(is_number(v) for v in items):
        return t("spec.value.factor", value=show(value))
    if any(abs(v) > 1 for v in items):
        return t("spec.value.factor_range", value=show(value))
    if len(items) == 2 and items[0] > items[1]:
        return t("spec.value.factor_order", value=show(value))
    return None


def value_range(value: Any) -> str | None:
    """The pixel values a layer receives: a pair (low, high) of numbers, low below high."""
    if (not isinstance(value, (list, tuple)) or len(value) != 2 or not all(is_number(v) for v in value)
            or not value[0] < value[1]):
        return t("spec.value.value_range", value=show(value))
    return None


def optional_factor(value: Any) -> str | None:
    return None if value is None else factor(value)


def learning_rate(value: Any) -> str | None:
    if not is_number(value) or not 0 < value <= 10:
        return t("spec.value.learning_rate", value=show(value))
    return None
