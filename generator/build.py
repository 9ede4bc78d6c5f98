"""Compile a validated tenant into an instance folder, atomically and deterministically.

Instance layout (DIR/<tenant.id>/):
    wsgi.py                  gunicorn --chdir DIR/<id> wsgi:app
    release -> .releases/<h> the current build, swapped with one atomic rename
    .releases/<h>/           config.json, static/, templates/, pages/, translations/
    data/                    database, uploads, outbox: never touched by a build
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import io
import json
import os
import posixpath
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from . import __version__, artifacts, colours, fonts, icons, images, schema, themes
from .batch import find_tenants  # noqa: F401  (re-exported: callers import it from here)
from .diagnostics import TenantError
from .incremental import BuildIndex, BuildResult
from .loader import Document
from .resolve import colour_tokens, fill_defaults, normalise_menu, render_markdown, slugify
from .resources import runtime_folder
from .validate import validate_file

TRANSLATIONS = runtime_folder("translations")

WSGI = '''"""WSGI entry point of this portal instance: gunicorn --chdir <this folder> wsgi:app

The app follows the `release` link: a rebuild is served within a second, no restart needed.
"""

import os

from runtime.releases import LiveInstance

app = LiveInstance(os.path.dirname(os.path.abspath(__file__)))
'''
# the lock file a serving process holds in its release (runtime/releases.py LOCK_NAME)
RELEASE_LOCK = ".lock"
# the shape of config.json and of the release folder; the runtime refuses another number
# (runtime/portal.py RELEASE_FORMAT): bump both when a runtime would misread the release
RELEASE_FORMAT = 2  # 2: one CSS bundle and one JS bundle, subset icons


@dataclass(frozen=True)
class Blob:
    """Bytes made once for many releases, with their digest: hashed once, not per release."""

    data: bytes
    digest: str

    @classmethod
    def of(cls, data: bytes) -> Blob:
        return cls(data, hashlib.sha256(data).hexdigest())


@dataclass
class Output:
    """The files of one release, by path inside it, before anything is written."""

    files: dict[str, bytes | Path] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    inputs: set[Path] = field(default_factory=set)  # tenant files read (assets, pages, ...)

    def add_bytes(self, rel: str, data: bytes | Blob) -> None:
        blob = data if isinstance(data, Blob) else Blob.of(data)
        self.files[rel] = blob.data
        self.digests[rel] = blob.digest

    def add_file(self, rel: str, src: Path) -> None:
        self.files[rel] = src
        self.digests[rel] = file_digest(src)

    def add_hashed(self, folder: str, name: str, data: bytes | Path | Blob) -> str:
        """Add under a content-hashed name (`logo.3f2a1b9c.svg`); return that path."""
        if isinstance(data, Path):
            digest = file_digest(data)
        else:
            blob = data if isinstance(data, Blob) else Blob.of(data)
            data, digest = blob.data, blob.digest
        stem, dot, ext = name.rpartition(".")
        rel = f"{folder}/{stem or ext}.{digest[:10]}{dot}{ext if stem else ''}"
        self.files[rel] = data
        self.digests[rel] = digest
        return rel

    def release_id(self) -> str:
        lines = "".join(f"{rel}\0{self.digests[rel]}\n" for rel in sorted(self.files))
        return hashlib.sha256(lines.encode()).hexdigest()[:16]


@functools.cache
def _digest_cached(path: str, size: int, mtime: int) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def file_digest(path: Path) -> str:
    st = path.stat()
    return _digest_cached(str(path), st.st_size, st.st_mtime_ns)


def resolve_config(doc: Document, out: Output) -> dict:
    """The resolved config of a valid document; assets and pages are added to `out`."""
    config = fill_defaults(json.loads(json.dumps(doc.data)))
    config.pop("extends", None)
    branding = config["branding"]
    for key in ("logo", "favicon", "login_image"):
        if key in branding:
            branding[key] = _asset(doc, out, ("branding", key), branding[key])
        else:
            branding[key] = None
    for i, banner in enumerate(branding["banners"]):
        # the image as the file names it: the banner's stable name when it has no id (the
        # portal's copy of the banner, edited in the staff console, is found by it)
        banner["source_image"] = banner["image"]
        banner["image"] = _asset(doc, out, ("branding", "banners", i, "image"), banner["image"])
        banner.setdefault("link", None)
    branding["templates"] = "templates/overrides" if "templates" in branding else None
    branding["on_colors"] = colour_tokens(branding["colors"])
    pages = _pages(doc, config["menu"], out)
    config["menu"] = normalise_menu(config["menu"], pages)
    if "menu_syndic" in config:  # pages shared with `menu` are rendered once
        _pages(doc, config["menu_syndic"], out, ("menu_syndic",), pages)
        config["menu_syndic"] = normalise_menu(config["menu_syndic"], pages)
    else:
        config["menu_syndic"] = None  # the runtime makes it of the enabled modules' entries
    if "faq" in config["modules"]:
        for item in config["modules"]["faq"]["items"]:
            item["a_html"] = render_markdown(item["a"])
    config["pages"] = sorted(set(pages.values()))
    return config


def _asset(doc: Document, out: Output, path: tuple, value: str) -> str:
    src = Path(doc.loc(path).file).parent / value
    out.inputs.add(src)
    return out.add_hashed("static/assets", src.name, src)


def _pages(doc: Document, menu: list, out: Output, base: tuple = ("menu",),
           pages: dict | None = None) -> dict[str, str]:
    """Render each menu page's Markdown; map the path as written to its slug."""
    pages = {} if pages is None else pages
    for i, node in enumerate(menu):
        if "page" in node and node["page"] not in pages:
            src = Path(doc.loc((*base, i, "page")).file).parent / node["page"]
            out.inputs.add(src)
            slug = slugify(Path(node["page"]).stem)
            while slug in pages.values():
                slug += "-2"
            pages[node["page"]] = slug
            html = render_markdown(src.read_text(encoding="utf-8"))
            out.add_bytes(f"pages/{slug}.html", html.encode())
        if "children" in node:
            _pages(doc, node["children"], out, (*base, i, "children"), pages)
    return pages


@functools.cache
def _theme_files(name: str) -> tuple[tuple[str, Path], ...]:
    """(release path, source) of the theme's templates, static files and vendored files;
    not its text fonts: a release gets only the one its tenant picks (`_text_font`)."""
    theme = themes.get(name)
    assert theme is not None  # validation refused unknown themes
    fonts_shipped = {f"static/{file}" for family in theme.fonts.values() for file in family.files}
    files = []
    for sub, prefix in (("templates", "templates/theme"), ("static", "static")):
        folder = theme.folder / sub
        for src in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = f"{prefix}/{src.relative_to(folder).as_posix()}"
            if rel not in fonts_shipped:
                files.append((rel, src))
    for item in theme.vendor:
        files.append((f"static/{item['to']}", theme.vendor_source(item)))
    return tuple(files)


@functools.cache
def _compiled_translations() -> tuple[tuple[str, Blob], ...]:
    """Each runtime catalogue compiled to .mo, once per process."""
    compiled = []
    for po in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        rel = f"translations/{po.relative_to(TRANSLATIONS).with_suffix('.mo')}"
        compiled.append((rel, Blob.of(artifacts.kept("mo", (str(po),),
                                                     lambda po=po: _compile_po(po)))))
    return tuple(compiled)


def _compile_po(po: Path) -> bytes:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    return buf.getvalue()


@functools.cache
def _tokens_template(name: str) -> jinja2.Template:
    theme = themes.get(name)
    assert theme is not None
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(theme.folder)),
                             autoescape=False, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template("tokens.css.j2")


def _theme_css(name: str, config: dict, font: fonts.TextFont) -> bytes:
    """The theme's CSS: the tenant's colours and its text font."""
    branding = config["branding"]
    return _rendered_tokens(name, json.dumps([branding["colors"], branding["on_colors"],
                                              font.family, font.faces, font.fallback,
                                              font.generic]))


@functools.cache
def _rendered_tokens(name: str, inputs: str) -> bytes:
    """`_theme_css` once per set of inputs (JSON): tenants that share their colours and
    font share their CSS."""
    colors, on_colors, family, faces, fallback, generic = json.loads(inputs)
    font = fonts.TextFont(family, faces, fallback, generic)
    rgb = {key: ", ".join(str(int(v[i:i + 2], 16)) for i in (1, 3, 5))
           for key, v in colors.items()}
    return _tokens_template(name).render(
        colors=colors, on_colors=on_colors, rgb=rgb, text_colors=colours.text_colours(colors),
        font=font.family, font_files=font.faces, fallback=font.fallback, stack=font.stack,
    ).encode()


def _text_font(doc: Document, name: str, choice: str | dict, out: Output) -> fonts.TextFont:
    """The portal's text font (`branding.font`), its files added under content-hashed
    names: a family the theme ships (and its licence), a font file of the tenant's cut to
    Latin as WOFF2, or none ("system")."""
    if choice == "system":
        return fonts.TextFont(None, [], None)
    if isinstance(choice, dict):
        return _tenant_font(doc, choice, out)
    theme = themes.get(name)
    assert theme is not None
    family = theme.fonts[choice]  # validation refused a family the theme does not ship
    faces = []
    for face in family.faces:
        folder, _, file = f"static/{face['file']}".rpartition("/")
        hashed = out.add_hashed(folder, file, theme.folder / "static" / face["file"])
        faces.append({**face, "file": hashed.removeprefix("static/")})
    out.add_file(f"static/{family.license}", theme.folder / "static" / family.license)
    local, _ = fonts.LOCAL[family.generic]
    return fonts.TextFont(choice, faces, {"local": local, **family.fallback}, family.generic)


def _tenant_font(doc: Document, choice: dict, out: Output) -> fonts.TextFont:
    key = ("branding", "font", "file")
    named = choice["file"]
    paths = [((*key, i), file) for i, file in enumerate(named)] if isinstance(named, list) \
        else [(key, named)]
    faces, served = [], []
    for path, file in paths:
        src = Path(doc.loc(path).file).parent / file
        out.inputs.add(src)
        face = fonts.web_face(str(src), file_digest(src))
        served.append(face)
        rel = out.add_hashed("static/fonts", f"{src.stem}.woff2", face.data)
        faces.append({"file": rel.removeprefix("static/"), "weight": face.weight,
                      "style": face.style})
    # the regular face names the family and sizes the stand-in font: it draws most text
    body = served[fonts.body_face(faces)]
    generic = choice["fallback"]
    return fonts.TextFont(body.family, faces, fonts.fallback(body.metrics, generic), generic)


def _images(branding: dict, out: Output) -> dict[str, list[int]]:
    """The pixel size of each tenant image by its path under static/ (for width and height
    on <img>); each raster banner gets WebP copies for its `srcset`."""
    sizes = {}
    for rel in [branding[k] for k in ("logo", "favicon", "login_image") if branding[k]] + \
            [b["image"] for b in branding["banners"]]:
        size = images.pixel_size_of(Path(out.files[f"static/{rel}"]), out.digests[f"static/{rel}"])
        if size:
            sizes[rel] = list(size)
    for banner in branding["banners"]:
        rel, banner["srcset"] = banner["image"], []
        src = Path(out.files[f"static/{rel}"])
        if rel not in sizes or src.suffix.lower() not in (".jpg", ".jpeg", ".png", ".webp"):
            continue
        for width, data in images.banner_copies(src, out.digests[f"static/{rel}"],
                                                tuple(sizes[rel])):
            copy = out.add_hashed("static/assets", f"{src.stem}-{width}w.webp", data)
            banner["srcset"].append([copy.removeprefix("static/"), width])
    return sizes


def _icon_subset(name: str, config: dict, overrides: list[Path], out: Output) -> str:
    """The icon font cut down to the icons this portal can show (content-hashed), and the
    stylesheet of those icons, which goes in the bundle: a few KB instead of 220."""
    theme = themes.get(name)
    assert theme is not None
    used = icons.used(name, config["menu"], overrides, tuple(schema.MODULE_FOLDERS))
    font = out.add_hashed("static/vendor/fonts", "bootstrap-icons.woff2", _icon_font(name, used))
    return icons.stylesheet(name, used, font.removeprefix("static/"))


@functools.cache
def _icon_font(name: str, used: frozenset[str]) -> Blob:
    """The theme's icon font cut to `used`: made once per set of icons, kept between runs."""
    return Blob.of(artifacts.kept("icons", (name, tuple(sorted(used))),
                                  lambda: icons.subset_font(name, used)))


_SOURCE_MAP = re.compile(r"^\s*(?://|/\*)# sourceMappingURL=.*$", re.M)


@functools.cache
def _vendor_texts(name: str, suffix: str) -> tuple[str, ...]:
    """The theme's vendored files ending in `suffix`, except the icon stylesheet, in the
    order theme.yaml lists them, without their source map comments (the maps are not
    shipped: a browser's developer tools would ask for them)."""
    theme = themes.get(name)
    assert theme is not None
    return tuple(_SOURCE_MAP.sub("", theme.vendor_source(item).read_text(encoding="utf-8"))
                 .strip() for item in theme.vendor
                 if item["to"].endswith(suffix) and item["to"] != theme.icons_css)


def _css_bundle(name: str, icon_css: str, theme_css: bytes) -> Blob:
    """One stylesheet: the theme's vendored CSS (Bootstrap), the icons used, then the
    theme's own: one request instead of three."""
    head, hashed = _css_head(name, icon_css)
    digest = hashed.copy()  # the 250 KB before the theme's CSS are hashed once
    digest.update(theme_css)
    return Blob(head + theme_css, digest.hexdigest())


@functools.cache
def _css_head(name: str, icon_css: str) -> tuple[bytes, hashlib._Hash]:
    """The bundle up to the theme's own CSS, the same for every tenant showing these icons,
    and a hash fed with it."""
    head = "\n".join([*_vendor_texts(name, ".css"), icon_css, ""]).encode()
    return head, hashlib.sha256(head)


def _js_bundle(name: str) -> Blob:
    """One script: the theme's vendored scripts (Popper, Bootstrap), then portal.js; each
    starts on its own line, so none ends in another's line comment."""
    theme = themes.get(name)
    assert theme is not None
    own = theme.folder / "portal.js"
    return _joined_scripts(name, str(own), file_digest(own))


@functools.cache
def _joined_scripts(name: str, own: str, digest: str) -> Blob:
    """`_js_bundle`, once per content of portal.js (`digest`)."""
    text = Path(own).read_text(encoding="utf-8")
    return Blob.of(("\n;\n".join([*_vendor_texts(name, ".js"), text]) + "\n").encode())


def _hashed_vendor(name: str, out: Output) -> dict[str, str]:
    """Content-hashed copies of the vendored files: {"vendor/x.css": "vendor/x.<hash>.css"}."""
    hashed, copies = _vendor_copies(name)
    out.files.update(copies.files)
    out.digests.update(copies.digests)
    return dict(hashed)


@functools.cache
def _vendor_copies(name: str) -> tuple[dict[str, str], Output]:
    """The theme's hashed vendored files, made once per process: the same for every tenant.

    Stylesheets come last and are rewritten first, so that the files they reference by
    relative URL (the icon fonts) are named by their hashed copies: a changed font then
    changes the stylesheet's hash too. The plain copies stay for tenant templates.
    """
    theme = themes.get(name)
    assert theme is not None
    items = sorted(theme.vendor, key=lambda item: item["to"].endswith(".css"))
    hashed: dict[str, str] = {}
    copies = Output()
    for item in items:
        src = theme.vendor_source(item)
        folder, _, file = f"static/{item['to']}".rpartition("/")
        data: bytes | Path = src
        if item["to"].endswith(".css"):
            data = _relink(src.read_text(encoding="utf-8"), item["to"], hashed).encode()
        hashed[item["to"]] = copies.add_hashed(folder, file, data).removeprefix("static/")
    return hashed, copies


def _relink(css: str, css_path: str, hashed: dict[str, str]) -> str:
    """`url("fonts/a.woff2?v")` -> `url("fonts/a.<hash>.woff2")` for each hashed file."""
    base = posixpath.dirname(css_path)
    for plain, named in hashed.items():
        rel = posixpath.relpath(plain, base)
        pattern = r"url\((['\"]?)(?:\./)?" + re.escape(rel) + r"(?:[?#][^'\")]*)?\1\)"
        target = posixpath.relpath(named, base)
        css = re.sub(pattern, lambda m, t=target: f"url({m.group(1)}{t}{m.group(1)})", css)
    return css


def collect(doc: Document) -> tuple[dict, Output]:
    """Everything one release holds, in memory (large files by path)."""
    out = Output()
    config = resolve_config(doc, out)
    theme = config["branding"]["theme"]
    for rel, src in _theme_files(theme):
        out.add_file(rel, src)
    for rel, data in _compiled_translations():
        out.add_bytes(rel, data)
    overrides = doc.data.get("branding", {}).get("templates")
    override_files = []
    if overrides:
        folder = Path(doc.loc(("branding", "templates")).file).parent / overrides
        override_files = [(src, src.relative_to(folder).as_posix())
                          for src in sorted(p for p in folder.rglob("*") if p.is_file())]
    icon_css = _icon_subset(theme, config, [src for src, _ in override_files], out)
    font = _text_font(doc, theme, config["branding"]["font"], out)
    config["branding"]["font"] = font.family or "system"
    config["static"] = {
        "theme_css": out.add_hashed("static", "theme.css", _css_bundle(
            theme, icon_css, _theme_css(theme, config, font))).removeprefix("static/"),
        "fonts": font.preload,
        "portal_js": out.add_hashed("static", "portal.js", _js_bundle(theme))
        .removeprefix("static/"),
        "vendor": _hashed_vendor(theme, out),
    }
    for key in ("logo", "favicon", "login_image"):
        if config["branding"][key]:
            config["branding"][key] = config["branding"][key].removeprefix("static/")
    for banner in config["branding"]["banners"]:
        banner["image"] = banner["image"].removeprefix("static/")
    config["static"]["images"] = _images(config["branding"], out)
    for src, rel in override_files:
        out.add_file(f"templates/overrides/{rel}", src)
        out.inputs.add(src)
    config["generator_version"] = __version__
    config["release_format"] = RELEASE_FORMAT
    out.add_bytes("config.json", (json.dumps(config, ensure_ascii=False, indent=2) + "\n").encode())
    return config, out


def build(file: str, out_dir: Path, index: BuildIndex | None = None) -> BuildResult:
    """Validate and build one tenant into out_dir/<tenant.id>; raise TenantError if invalid.

    Pass one BuildIndex for many builds into the same folder (and save it after).
    """
    out_dir = Path(out_dir)
    own_index = index is None
    index = index or BuildIndex(out_dir)
    hit = index.lookup(file)
    if hit is not None:
        return BuildResult(hit.tenant_id, out_dir / hit.tenant_id, hit.release, changed=False)
    result = validate_file(file)
    if result.errors or result.document is None:
        index.forget(file)
        if own_index:
            index.save()
        raise TenantError(result.errors)
    config, output = collect(result.document)
    tenant_id = config["tenant"]["id"]
    built = write_instance(out_dir / tenant_id, tenant_id, output)
    index.record(file, tenant_id, built.release,
                 [Path(p) for p in result.document.sources] + sorted(output.inputs))
    if own_index:
        index.save()
    return built


def write_instance(instance: Path, tenant_id: str, output: Output) -> BuildResult:
    """Write a release and point `release` at it; the old one stays until the swap."""
    release_id = output.release_id()
    releases = instance / ".releases"
    target = releases / release_id
    link = instance / "release"
    current = os.readlink(link) if link.is_symlink() else None
    if current == f".releases/{release_id}" and target.is_dir():
        _write_if_changed(instance / "wsgi.py", WSGI.encode())
        return BuildResult(tenant_id, instance, release_id, changed=False)
    releases.mkdir(parents=True, exist_ok=True)
    (instance / "data").mkdir(exist_ok=True)
    if not target.is_dir():
        tmp = releases / f".tmp-{release_id}-{os.getpid()}"
        try:
            _write_files(tmp, output)
            os.rename(tmp, target)
            _remember(target, output)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    tmp_link = instance / f".release-{os.getpid()}"
    if tmp_link.is_symlink():
        tmp_link.unlink()
    os.symlink(f".releases/{release_id}", tmp_link)
    os.replace(tmp_link, link)  # the atomic switch
    _write_if_changed(instance / "wsgi.py", WSGI.encode())
    _prune(releases, keep={release_id, (current or "").removeprefix(".releases/")})
    return BuildResult(tenant_id, instance, release_id, changed=True)


def _write_files(root: Path, output: Output) -> None:
    top = str(root)
    os.makedirs(top, exist_ok=True)
    for folder in _folders(output.files):
        try:
            os.mkdir(os.path.join(top, folder))
        except FileExistsError:  # left by a build that was killed, under the same pid
            pass
    for rel, data in sorted(output.files.items()):
        dest = os.path.join(top, rel)
        if isinstance(data, Path):
            _link_or_copy(data, dest)  # shared, read-only files: no copy needed
        elif not (rel.startswith(LINKABLE) and _link_written(output.digests[rel], dest)):
            with open(dest, "wb") as fh:
                fh.write(data)


def _link_or_copy(src: Path | str, dest: str) -> None:
    try:
        os.link(src, dest)
    except OSError:  # another filesystem, or the file's link count is at its limit
        shutil.copyfile(src, dest)


# A file of a release written by this process, by the digest of its bytes. Tenants of one
# fleet share most of the files made in memory (the script bundle, the compiled catalogues,
# the icon font and the vendored stylesheets: 600 KB a release), so a later release with the
# same bytes gets a hard link to the earlier copy instead of writing them again. Releases
# are never changed once written (as the theme files they already link to), and a link
# keeps each release whole when another is deleted or the folder is copied alone.
#
# Only the shared kinds are linked: a release's own files (config.json, its templates) are
# written anew, so a file edited in place in one release (by hand, by a test) can never
# change another release of the same tenant.
_WRITTEN: dict[str, str] = {}
LINKABLE = ("static/", "translations/")


def _link_written(digest: str, dest: str) -> bool:
    """Link `dest` to a written file with these bytes; False when there is none to link
    (never written here, since deleted, or on another filesystem)."""
    src = _WRITTEN.get(digest)
    if src is None:
        return False
    try:
        os.link(src, dest)
    except OSError:
        del _WRITTEN[digest]
        return False
    return True


def _remember(release: Path, output: Output) -> None:
    """Note where the release's in-memory files lie now, for `_link_written`."""
    top = str(release)
    for rel, data in output.files.items():
        if not isinstance(data, Path) and rel.startswith(LINKABLE):
            _WRITTEN.setdefault(output.digests[rel], os.path.join(top, rel))


def _folders(files: dict[str, bytes | Path]) -> list[str]:
    """The folders of a release's files and their parents, parents first: each is made once
    (a release has some 50 files in 15 folders; `mkdir(parents=True)` per file would first
    fail on every missing parent, and a mkdir costs 0.1 ms on a busy disk)."""
    found: set[str] = set()
    for rel in files:
        folder = posixpath.dirname(rel)
        while folder and folder not in found:
            found.add(folder)
            folder = posixpath.dirname(folder)
    return sorted(found)  # "static" sorts before "static/assets"


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.is_file() and path.read_bytes() == data:
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _prune(releases: Path, keep: set[str]) -> None:
    """Delete old releases, except those a running process still serves (it holds a lock)."""
    for old in releases.iterdir():
        if old.name not in keep and not old.name.startswith(".tmp-"):
            _remove_if_unused(old)


def _remove_if_unused(folder: Path) -> None:
    try:
        fd = os.open(folder / RELEASE_LOCK, os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # in use: the next build tries again
    else:
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        os.close(fd)
