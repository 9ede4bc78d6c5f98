"""Brazilian tax ids (CPF, CNPJ): normalise and check their digits."""

from __future__ import annotations

import re


def digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def _check(numbers: str, weights: list[int]) -> int:
    total = sum(int(n) * w for n, w in zip(numbers, weights, strict=False))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def is_cpf(value: str) -> bool:
    d = digits(value)
    if len(d) != 11 or d == d[0] * 11:
        return False
    first = _check(d[:9], list(range(10, 1, -1)))
    second = _check(d[:10], list(range(11, 1, -1)))
    return d[9:] == f"{first}{second}"


def is_cnpj(value: str) -> bool:
    d = digits(value)
    if len(d) != 14 or d == d[0] * 14:
        return False
    w1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    first = _check(d[:12], w1)
    second = _check(d[:13], [6, *w1])
    return d[12:] == f"{first}{second}"


def is_document(value: str) -> bool:
    """A valid CPF or CNPJ, punctuated or not."""
    return is_cpf(value) or is_cnpj(value)


def format_document(value: str) -> str:
    d = digits(value)
    if len(d) == 11:
        return f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"
    if len(d) == 14:
        return f"{d[:2]}.{d[2:5]}.{d[5:8]}/{d[8:12]}-{d[12:]}"
    return value
