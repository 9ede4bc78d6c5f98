"""WCAG 2.x contrast arithmetic for the theme's colour tokens."""

from __future__ import annotations

BLACK = "#000000"
WHITE = "#FFFFFF"
AA = 4.5


def _channel(c: int) -> float:
    s = c / 255
    return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    """Relative luminance of "#RRGGBB"."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    """Contrast ratio between two colours, from 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def on_colour(background: str) -> str:
    """Black or white text, whichever contrasts more with `background`."""
    return BLACK if contrast(background, BLACK) >= contrast(background, WHITE) else WHITE
