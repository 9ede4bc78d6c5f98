"""Text fonts: a family the theme ships, or a font file of the tenant's, made ready for the web.

A web font arrives after the first paint (`font-display: swap`); until then text is drawn
in a local font (Arial's metrics, or Times' for a serif) stretched to the web font's average
letter width and line metrics (`size-adjust`, `ascent-override`...), so the page hardly
moves when the font replaces it. The numbers come from the font file: its hhea ascent and
descent, and its advance widths weighted by how often each letter occurs in text. The
theme's families keep theirs in theme.yaml (tests/test_fonts.py recomputes them); a
tenant's font gets them at build time.

A tenant's file (WOFF2, WOFF, TrueType or OpenType) is cut to the Latin characters the
portal's languages use and saved as WOFF2: a 300 KB TTF becomes a 30-60 KB download.
fontTools is imported only when a font file is read, so validating a tenant without one
never pays for it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FONT_TYPES = {".woff2", ".woff", ".ttf", ".otf"}
# a family's text file is 20-200 KB; a file larger than this is not a web font
MAX_BYTES = 2 * 1024 * 1024
_MAGIC = {b"wOF2": "WOFF2", b"wOFF": "WOFF", b"\x00\x01\x00\x00": "TrueType",
          b"true": "TrueType", b"OTTO": "OpenType"}
# Fontsource's "latin" subset: ASCII, Latin-1 (ã, ç, ñ, ¿...), punctuation, € and ™
LATIN = [*range(0x00, 0x100), 0x131, 0x152, 0x153, 0x2BB, 0x2BC, 0x2C6, 0x2DA, 0x2DC,
         0x304, 0x308, 0x329, *range(0x2000, 0x2070), 0x20AC, 0x2122, 0x2191, 0x2193,
         0x2212, 0x2215, 0xFEFF, 0xFFFD]
BASIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# letters of Portuguese and Spanish a font must draw, or they show in another font
ACCENTED = "áàâãéêíóôõúüçñÁÀÂÃÉÊÍÓÔÕÚÜÇÑ¿¡"
# English letter frequencies (%) and a space every fifth letter: the mix of widths in text
FREQUENCIES = {
    "a": 8.167, "b": 1.492, "c": 2.782, "d": 4.253, "e": 12.702, "f": 2.228, "g": 2.015,
    "h": 6.094, "i": 6.966, "j": 0.153, "k": 0.772, "l": 4.025, "m": 2.406, "n": 6.749,
    "o": 7.507, "p": 1.929, "q": 0.095, "r": 5.987, "s": 6.327, "t": 9.056, "u": 2.758,
    "v": 0.978, "w": 2.360, "x": 0.150, "y": 1.974, "z": 0.074, " ": 20.0,
}
# the local fonts that stand in, by kind, and the average width (em) of their text, from
# Liberation Sans and Liberation Serif (Arial's and Times New Roman's metrics)
LOCAL = {
    "sans-serif": (["Arial", "Liberation Sans", "LiberationSans", "Helvetica"], 0.444150),
    "serif": (["Times New Roman", "Liberation Serif", "LiberationSerif", "Times"], 0.402496),
}
# what the page falls back to when neither the web font nor the stretched local one is there
STACKS = {
    "sans-serif": 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, '
                  "sans-serif",
    "serif": 'Georgia, Cambria, "Times New Roman", Times, serif',
}
_FS_TYPE_RESTRICTED = 0x0002  # OS/2 fsType: "restricted license embedding"
_FS_TYPE_NO_SUBSETTING = 0x0100


class FontError(ValueError):
    """A file that is not a font this build can use; the message says why, plainly."""


@dataclass(frozen=True)
class Metrics:
    """What a fallback needs of a font, in ems."""

    width: float  # average advance width of text (FREQUENCIES)
    ascent: float
    descent: float
    line_gap: float


@dataclass(frozen=True)
class WebFace:
    """One tenant font file, ready to serve."""

    data: bytes  # WOFF2, cut to LATIN
    family: str  # a name safe inside CSS quotes
    weight: str  # "400", or "100 900" for a variable font
    style: str  # "normal" or "italic"
    metrics: Metrics


@dataclass(frozen=True)
class TextFont:
    """The portal's text font, as the stylesheet and the page need it."""

    family: str | None  # None: the device's own font ("system")
    faces: list[dict]  # {file (under static/), weight, style}
    fallback: dict | None  # {local, size_adjust, ascent_override, ...}
    generic: str = "sans-serif"

    @property
    def stack(self) -> str:
        return STACKS[self.generic]

    @property
    def preload(self) -> list[str]:
        """The face drawing body text: the page asks for it with the stylesheet instead of
        after it; bold and italic faces follow when the page uses them."""
        return [self.faces[body_face(self.faces)]["file"]] if self.faces else []


def body_face(faces: list[dict]) -> int:
    """The index of the face drawing body text: normal style, nearest to weight 400."""
    return min(range(len(faces)), key=lambda i: (faces[i]["style"] != "normal",
                                                 _distance(faces[i]["weight"], 400)))


def _distance(weight: str, target: int) -> float:
    low, _, high = weight.partition(" ")
    low_n, high_n = float(low), float(high or low)
    return 0 if low_n <= target <= high_n else min(abs(low_n - target), abs(high_n - target))


def metrics(font: Any) -> Metrics:
    """The Metrics of a fontTools TTFont (a variable font: its default instance)."""
    upm = font["head"].unitsPerEm
    cmap = font.getBestCmap() or {}
    hmtx = font["hmtx"]
    present = {c: w for c, w in FREQUENCIES.items() if ord(c) in cmap}
    if not present:
        raise FontError("it has no Latin letters")
    width = sum(hmtx[cmap[ord(c)]][0] * w for c, w in present.items()) / sum(present.values())
    hhea = font["hhea"]
    return Metrics(width / upm, hhea.ascent / upm, abs(hhea.descent) / upm, hhea.lineGap / upm)


def fallback(m: Metrics, generic: str) -> dict:
    """The @font-face of the local font stretched to these metrics (tokens.css.j2)."""
    local, width = LOCAL[generic]
    ratio = m.width / width

    def pct(value: float) -> str:
        return f"{value * 100:.2f}%"

    return {"local": list(local), "size_adjust": pct(ratio),
            "ascent_override": pct(m.ascent / ratio), "descent_override": pct(m.descent / ratio),
            "line_gap_override": pct(m.line_gap / ratio)}


def problems(path: Path) -> list[tuple[str, str]]:
    """(severity, message) for each reason `path` cannot serve, or serves badly, as the
    portal's text font; [] for a good font."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        return [("error", f"the font file is {size // 1024} KB; a text font is 20-200 KB "
                          f"and may be at most {MAX_BYTES // (1024 * 1024)} MB here")]
    with path.open("rb") as fh:
        start = fh.read(16)
    if start[:4] not in _MAGIC:
        return [("error", f"{path.name} is not a WOFF2, WOFF, TTF or OTF font"
                          f"{_looks_like(start)}")]
    try:
        font = _open(path)
    except FontError as exc:
        return [("error", f"{path.name} cannot be read as a font: {exc}")]
    found = []
    cmap = font.getBestCmap() or {}
    missing = [c for c in BASIC if ord(c) not in cmap]
    if missing:
        found.append(("error", f"{path.name} has no glyph for {' '.join(missing[:12])}"
                               f"{' ...' if len(missing) > 12 else ''}: it cannot draw text"))
    accents = [c for c in ACCENTED if ord(c) not in cmap]
    if accents and not missing:
        found.append(("warning", f"{path.name} has no glyph for {' '.join(accents)}: those "
                                 "letters would show in another font"))
    if font["OS/2"].fsType & 0x000F == _FS_TYPE_RESTRICTED:
        found.append(("warning", f"{path.name} forbids embedding (OS/2 fsType); check that "
                                 "its licence allows use on a website"))
    return found


def _looks_like(start: bytes) -> str:
    """What a file that is not a font begins with, when that is text (an HTML error page
    saved under the font's name, a note)."""
    if start and all(32 <= b < 127 or b in (9, 10, 13) for b in start):
        return f' (it starts with the text "{" ".join(start.decode("ascii").split())}")'
    return ""


def _open(path: Path) -> Any:
    """A TTFont with every table read: a damaged table fails here, not in the build."""
    from fontTools.ttLib import TTFont

    try:
        font = TTFont(str(path))
        font.ensureDecompiled()
        for table in ("head", "hhea", "hmtx", "cmap", "OS/2", "name"):
            if table not in font:
                raise FontError(f"it has no {table} table")
        metrics(font)
    except FontError:
        raise
    # fontTools reports a damaged file with whatever its parser hit: struct.error,
    # KeyError, AssertionError, brotli.error, TTLibError...
    except Exception as exc:  # noqa: BLE001
        raise FontError(str(exc) or type(exc).__name__) from exc
    return font


# each font file made ready in this process, by its content's digest: the tenants of a fleet
# share a font file under paths of their own
_WEB_FACES: dict[str, WebFace] = {}


def web_face(path: str, digest: str) -> WebFace:
    """The tenant's font file as WOFF2 cut to LATIN, once per content (`digest`)."""
    if digest not in _WEB_FACES:
        _WEB_FACES[digest] = _web_face(path)
    return _WEB_FACES[digest]


def _web_face(path: str) -> WebFace:
    from fontTools import subset

    font = _open(Path(path))
    family = css_family(font)
    weight = _weight(font)
    style = "italic" if font["OS/2"].fsSelection & 0b10_0000_0001 else "normal"
    measured = metrics(font)
    if not font["OS/2"].fsType & _FS_TYPE_NO_SUBSETTING:
        options = subset.Options()
        options.layout_features = ["*"]  # ligatures, kerning, figures: as designed
        options.name_IDs = ["*"]  # the copyright and licence stay in the file
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=LATIN)
        subsetter.subset(font)
    font.flavor = "woff2"
    buf = io.BytesIO()
    font.save(buf)
    return WebFace(buf.getvalue(), family, weight, style, measured)


def css_family(font: Any) -> str:
    """The font's family name, reduced to characters safe inside CSS quotes."""
    name = font["name"]
    raw = str(name.getDebugName(16) or name.getDebugName(1) or "")
    safe = re.sub(r"\s+", " ", re.sub(r"[^A-Za-z0-9 _-]", "", raw)).strip()[:60]
    return safe or "Tenant font"


def _weight(font: Any) -> str:
    if "fvar" in font:
        for axis in font["fvar"].axes:
            if axis.axisTag == "wght":
                return f"{axis.minValue:g} {axis.maxValue:g}"
    return str(min(max(font["OS/2"].usWeightClass, 1), 1000))
