"""Brazilian phone numbers in one normal form, so that an account is found by its number."""

from __future__ import annotations

from .brdocs import digits


def national(value: str | None) -> str | None:
    """The number as area code + subscriber (10 or 11 digits), or None if it is not one.

    Accepts what people type and what ERPs export: with or without +55 or the trunk 0,
    spaces, dashes, dots and parentheses ("+55 (11) 98765-4321", "011 3333-4444").
    """
    number = digits(value or "")
    if len(number) in (12, 13) and number.startswith("55"):
        number = number[2:]
    elif len(number) in (11, 12) and number.startswith("0"):
        number = number[1:]
    if len(number) not in (10, 11) or "0" in number[:2]:
        return None  # area codes run from 11 to 99, none with a 0
    if len(number) == 11 and number[2] != "9":
        return None  # 11 digits: a mobile number, which starts with 9
    if len(number) == 10 and number[2] in "01":
        return None
    return number

