"""Checks for the picaboo website, used by `tools/docs.py`.

Two sets of checks, both pure functions that return a list of problems (strings a reader can act on):

- `check_processed`: the notebooks nbdev prepared for Quarto in `_proc/` (no Quarto needed);
- `check_rendered`: the HTML site Quarto wrote to `_docs/` (only where Quarto is installed).

Plus `annotate_processed`, the one doc step nbdev lacks: it trims long text outputs and adds the
"launch this chapter" links to each processed page.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import yaml

# ---------------------------------------------------------------------------------------------------------------------
# Notebooks and cells

NBDEV_HIDING = {"export", "exporti", "hide", "default_exp"}  # nbdev removes code cells with these directives
_DIRECTIVE = re.compile(r"^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*?)\s*$")  # `#| key: value` or `#| key value`
_MAGIC = re.compile(r"^\s*%%\w+")
LAUNCH_MARK = "launch-links"  # cell metadata `picaboo` value of the cell `annotate_processed` adds
TRIM_MARK = "trimmed for the website"


def read_nb(path: Path) -> dict:
    "The notebook at `path` as a dict."
    return json.loads(Path(path).read_text(encoding="utf-8"))


def text(x) -> str:
    "A notebook text field (a string or a list of lines) as one string."
    return "".join(x) if isinstance(x, list) else (x or "")


def directives(source: str) -> tuple[dict, list[str]]:
    "The leading `#|` directives of a code cell (key -> value) and the remaining lines."
    lines, dirs = source.splitlines(), {}
    for i, line in enumerate(lines):
        m = _DIRECTIVE.match(line)
        if m: dirs[m.group(1)] = m.group(2)
        elif not (line.strip() == "" or _MAGIC.match(line)): return dirs, lines[i:]
    return dirs, []


def is_false(v) -> bool: return str(v).strip().lower() in ("false", "no", "0")


def hides_source(cell: dict) -> bool:
    "Is the source of this source-notebook code cell kept off the page (by nbdev or Quarto)?"
    if cell.get("cell_type") != "code": return False
    d, _ = directives(text(cell.get("source")))
    return bool(d.keys() & NBDEV_HIDING) or is_false(d.get("include", "")) or is_false(d.get("echo", ""))


def hidden_by_nbdev(cell: dict) -> bool:
    "Is this source-notebook cell removed from the page by nbdev itself?"
    if cell.get("cell_type") != "code": return False
    return bool(directives(text(cell.get("source")))[0].keys() & NBDEV_HIDING)


def frontmatter(nb: dict) -> dict:
    "The YAML frontmatter nbdev puts in the first raw cell of a processed notebook ({} if none)."
    cells = nb.get("cells", [])
    if not cells or cells[0].get("cell_type") != "raw": return {}
    m = re.match(r"^\s*---\s*\n(.*?)\n---\s*", text(cells[0].get("source")), re.DOTALL)
    if not m: return {}
    try: return yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError: return {}


def output_texts(cell: dict):
    "(kind, text) for each text-like output of a code cell: kind is stream, text/plain, text/markdown, text/html, error."
    for o in cell.get("outputs", []):
        t = o.get("output_type")
        if t == "stream": yield "stream", text(o.get("text"))
        elif t == "error": yield "error", "\n".join(o.get("traceback", []))
        elif t in ("execute_result", "display_data"):
            for mime in ("text/markdown", "text/html", "text/plain"):
                if mime in o.get("data", {}): yield mime, text(o["data"][mime])


# ---------------------------------------------------------------------------------------------------------------------
# Markdown: code spans, links, anchors

_FENCE = re.compile(r"^\s*(```+|~~~+)")


def strip_fences(md: str) -> str:
    "`md` with fenced code blocks blanked out (line count kept)."
    out, fence = [], None
    for line in md.splitlines():
        m = _FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence): fence = None
            out.append("")
        elif m: fence = m.group(1); out.append("")
        else: out.append(line)
    return "\n".join(out)


def strip_code(md: str) -> str:
    "`md` without fenced code blocks and inline code spans: what is left can hold links."
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", strip_fences(md), flags=re.DOTALL)


_MD_LINK = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^\s)>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_MD_REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_HTML_REF = re.compile(r"<(a|img|source|iframe)\b[^>]*?\b(href|src)\s*=\s*[\"']([^\"']*)[\"']", re.IGNORECASE)


def md_links(md: str) -> list[tuple[str, str]]:
    "('image' | 'link', target) for each link in markdown `md` (code excluded; raw HTML `<a>`/`<img>` included)."
    md, res = strip_code(md), []
    for m in _MD_LINK.finditer(md):
        res.append(("image" if m.group(1) else "link", m.group(3)))
        for inner in _MD_LINK.finditer(m.group(2)): res.append(("image" if inner.group(1) else "link", inner.group(3)))
    res += [("link", m.group(1)) for m in _MD_REFDEF.finditer(md)]
    res += [("image" if m.group(1).lower() in ("img", "source") else "link", m.group(3)) for m in _HTML_REF.finditer(md)]
    return res


def html_links(html: str) -> list[tuple[str, str]]:
    "('image' | 'link', target) for `<a href>` and `<img src>` in an HTML fragment."
    return [("image" if m.group(1).lower() in ("img", "source") else "link", m.group(3)) for m in _HTML_REF.finditer(html)]


def heading_id(heading: str) -> str:
    "The identifier pandoc (so Quarto) gives a heading: `heading_id('Attention, step 1') == 'attention-step-1'`."
    t = re.sub(r"\{[^}]*\}\s*$", "", heading)                   # trailing attributes {#id .class}
    t = re.sub(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\([^)]*\)", r"\1", t)  # links and images -> their text
    t = re.sub(r"<[^>]+>", "", t)                               # inline HTML tags
    t = t.replace("`", "").replace("*", "")
    t = re.sub(r"[^\w\s.-]", "", t)                             # keep letters, digits, _ - . and spaces
    t = "-".join(t.split()).lower()
    m = re.search(r"[^\W\d_]", t)                               # ids start with a letter
    return t[m.start():] if m else "section"


_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_EXPLICIT_ID = re.compile(r"\{[^}]*?#([\w.:-]+)[^}]*\}")
_HTML_ID = re.compile(r"\b(?:id|name)\s*=\s*[\"']([^\"']+)[\"']")


class Anchors:
    "The anchors of one page, built in page order (pandoc numbers repeated heading ids -1, -2, ...)."
    def __init__(self): self.ids, self._seen = set(), {}

    def add_markdown(self, md: str):
        for line in strip_fences(md).splitlines():
            m = _ATX.match(line)
            if m:
                explicit = _EXPLICIT_ID.search(m.group(2))
                self._add_heading(explicit.group(1) if explicit else heading_id(m.group(2)), explicit is not None)
        plain = strip_code(md)
        self.ids.update(m.group(1) for m in _EXPLICIT_ID.finditer(plain))
        self.ids.update(m.group(1) for m in _HTML_ID.finditer(plain))

    def add_html(self, html: str): self.ids.update(m.group(1) for m in _HTML_ID.finditer(html))

    def _add_heading(self, hid, explicit):
        if explicit: self.ids.add(hid); return
        n = self._seen.get(hid)
        self._seen[hid] = 0 if n is None else n + 1
        self.ids.add(hid if n is None else f"{hid}-{n + 1}")


# ---------------------------------------------------------------------------------------------------------------------
# The site: pages and link resolution

@dataclass
class Site:
    "What the checks need to know about the project."
    root: Path                  # project root (pyproject.toml)
    nbs: Path                   # notebooks folder, the site's root
    site_url: str = ""          # e.g. https://picaboo-book.github.io/picaboo (absolute links to it are internal)
    git_url: str = ""           # e.g. https://github.com/picaboo-book/picaboo
    branch: str = "main"
    readme_nb: str = "index.ipynb"
    pages: dict = field(default_factory=dict)  # html name (posix, relative to the site root) -> source path rel to nbs

    @property
    def repo_slug(self) -> str:
        m = re.match(r"https?://github\.com/([^/]+/[^/]+?)(?:\.git)?/?$", self.git_url or "")
        return m.group(1) if m else ""


def page_name(rel: str) -> str:
    "The html page nbdev/Quarto writes for a notebook `rel` (relative to nbs): `11b_cli.ipynb` -> `cli.html`."
    p = PurePosixPath(rel)
    if p.suffix == ".ipynb": return str(p.with_name(re.sub(r"^\d+[a-zA-Z0-9]*_", "", p.name.lower())).with_suffix(".html"))
    return str(p.with_suffix(".html"))


def source_notebooks(nbs: Path) -> list[str]:
    "Notebooks nbdev renders, relative to `nbs`, as posix paths (files and folders starting with _ or . skipped)."
    res = []
    for p in sorted(nbs.rglob("*.ipynb")):
        rel = p.relative_to(nbs)
        if any(part[0] in "_." for part in rel.parts): continue
        res.append(rel.as_posix())
    return res


def sidebar_order(rels: list[str]) -> list[str]:
    "The order nbdev's sidebar lists notebooks in: index first, then by name."
    return sorted(rels, key=lambda r: (str(PurePosixPath(r).parent), 0 if PurePosixPath(r).name.startswith("index.") else 1, r))


_GH_PATH = re.compile(r"^https?://(?:github\.com/(?P<a>[^/]+/[^/]+)/(?:blob|tree|edit|raw)/(?P<ab>[^/]+)/"
                      r"|raw\.githubusercontent\.com/(?P<b>[^/]+/[^/]+)/(?P<bb>[^/]+)/"
                      r"|colab\.research\.google\.com/github/(?P<c>[^/]+/[^/]+)/blob/(?P<cb>[^/]+)/)(?P<path>[^?#]*)")
_BINDER = re.compile(r"^https?://mybinder\.org/v2/gh/(?P<slug>[^/]+/[^/]+)/(?P<branch>[^?]+)\?(?:.*&)?(?:labpath|urlpath)="
                     r"(?:lab/tree/)?(?P<path>[^&#]+)")


def repo_path(site: Site, url: str) -> str | None:
    "The repository path a GitHub/Colab/Binder URL of this project points at (None if it is not one)."
    if not site.repo_slug: return None
    m = _GH_PATH.match(url)
    if m:
        slug = m.group("a") or m.group("b") or m.group("c")
        return unquote(m.group("path")).rstrip("/") if slug.lower() == site.repo_slug.lower() else None
    m = _BINDER.match(url)
    if m and m.group("slug").lower() == site.repo_slug.lower(): return unquote(m.group("path"))
    return None


def is_external(target: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target)) or target.startswith("//")


def resolve_link(site: Site, page_rel: str, target: str, anchors: dict, kind: str = "link") -> str | None:
    """Why `target`, linked from the notebook `page_rel` (relative to nbs), is broken on the site; None if it is fine.
    `anchors` maps html page names to their `Anchors`."""
    target = target.strip()
    if not target: return "empty link target" if kind == "image" else None
    if target.startswith("attachment:") or target.startswith("data:"): return None
    if is_external(target):
        rp = repo_path(site, target)
        if rp is not None:
            return None if rp == "" or (site.root / rp).exists() else f"{target} points at {rp}, which is not in the repository"
        base = site.site_url.rstrip("/")
        if not base or not (target == base or target.startswith(base + "/") or target.startswith(base + "#")): return None
        target = target[len(base):].lstrip("/") or "index.html"
        page_dir = PurePosixPath(".")
    else:
        page_dir = PurePosixPath(page_rel).parent
    parts = urlsplit(target)
    path, frag = unquote(parts.path), unquote(parts.fragment)
    if not path:  # same-page anchor
        return _check_anchor(page_name(page_rel), frag, anchors, target)
    if path.startswith("/"): rel = PurePosixPath(path.lstrip("/"))
    else: rel = page_dir / path
    norm = _normalize(rel)
    if norm is None: return f"{target} points outside nbs/, the site's root: link to the file on GitHub instead"
    if norm.endswith("/") or norm == "": norm += "index.html"
    if norm.endswith(".ipynb"):
        if norm not in site.pages.values(): return f"{target}: no notebook {norm} in nbs/ that the site renders"
        return _check_anchor(page_name(norm), frag, anchors, target)
    if norm.endswith(".html"):
        if norm in site.pages: return _check_anchor(norm, frag, anchors, target)
        if (site.nbs / norm).exists(): return None
        names = [n for n, src in site.pages.items() if PurePosixPath(src).stem == PurePosixPath(norm).stem]
        if names: hint = f" (the page for {site.pages[names[0]]} is {names[0]}: nbdev drops the number)"
        else: hint = (" (link to the notebook instead, e.g. `02_tokenization.ipynb`: Quarto turns it into the page's "
                      "name, which is the notebook's name without its number, not the module's)")
        return f"{target}: no page {norm} on the site{hint}"
    if norm.endswith((".qmd", ".md")) and (site.nbs / norm).exists(): return None
    if not (site.nbs / norm).exists(): return f"{target}: no file nbs/{norm}"
    return None


def _normalize(rel: PurePosixPath) -> str | None:
    out = []
    for part in rel.parts:
        if part in ("", "."): continue
        if part == "..":
            if not out: return None
            out.pop()
        else: out.append(part)
    return "/".join(out) + ("/" if str(rel).endswith("/") else "")


def _check_anchor(page: str, frag: str, anchors: dict, target: str) -> str | None:
    if not frag or page not in anchors: return None
    if frag in anchors[page].ids: return None
    close = sorted(a for a in anchors[page].ids if a.lower() == frag.lower() or a.lstrip("_") == frag.lstrip("_"))
    if close: hint = f" (did you mean #{close[0]}?)"
    elif re.fullmatch(r"[\w.]+", frag):
        hint = (" (nbdev links a `backticked` name to its reference entry; that page has none for it: add a "
                "`show_doc(...)` cell for it, or write the name without backticks)")
    else: hint = ""
    return f"{target}: no anchor #{frag} on {page}{hint}"


# ---------------------------------------------------------------------------------------------------------------------
# Checks on the processed notebooks (`_proc/`)

def _hidden_lines(src_nb: dict, min_len: int = 12) -> set[str]:
    "Distinctive lines of the source cells nbdev hides: long enough, and not also in a shown cell."
    hidden, shown = set(), set()
    for c in src_nb.get("cells", []):
        lines = {l.strip() for l in text(c.get("source")).splitlines()}
        if hidden_by_nbdev(c): hidden |= {l for l in lines if len(l) >= min_len and not l.startswith("#|")}
        else: shown |= lines
    return hidden - shown


def _exported_names(src_nb: dict) -> list[tuple[int, str]]:
    "(cell index, name) of each public function/class an exported cell defines: nbdev gives each a show_doc."
    import ast
    res = []
    for i, c in enumerate(src_nb.get("cells", [])):
        if c.get("cell_type") != "code": continue
        d, body = directives(text(c.get("source")))
        if not ({"export", "exports", "exec_doc"} & d.keys()) or "hide" in d or is_false(d.get("include", "")): continue
        try: tree = ast.parse("\n".join(body))
        except SyntaxError: continue
        res += [(i, n.name) for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and (not n.name.startswith("_") or n.name.startswith("__"))]
    return res


def _runs_in_docs_build(src_nb: dict) -> list[int]:
    """Source cells nbdev runs while building the docs although they are not just imports or exported code: any
    cell with an import statement is run (`exec_show_docs`), without the cells before it, so code there is slow
    at best and fails at worst (a NameError on a variable an earlier cell made)."""
    import ast
    res = []
    for i, c in enumerate(src_nb.get("cells", [])):
        if c.get("cell_type") != "code": continue
        d, body = directives(text(c.get("source")))
        if {"export", "exports", "exporti", "exec_doc"} & d.keys() or is_false(d.get("eval", "")): continue
        src = "\n".join(body)
        if not src.strip() or src.lstrip()[:1] in "%!": continue
        try: tree = ast.parse(src)
        except SyntaxError: continue
        if not any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree)): continue
        harmless = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        other = [n for n in tree.body if not isinstance(n, harmless)]
        if other: res.append(i)
    return res


def page_anchors(nb: dict) -> Anchors:
    "The anchors of the page a processed notebook becomes."
    a = Anchors()
    for c in nb.get("cells", []):
        if c.get("cell_type") == "markdown": a.add_markdown(text(c.get("source")))
        elif c.get("cell_type") == "code":
            d, _ = directives(text(c.get("source")))
            if "label" in d: a.ids.add(d["label"])
            for kind, t in output_texts(c):
                if kind == "text/markdown": a.add_markdown(t)
                elif kind == "text/html": a.add_html(t)
    return a


def check_processed(site: Site, proc: Path, max_output_lines: int = 40, max_nb_mb: float = 2.0,
                    launch_links: bool = True) -> list[str]:
    "Problems with the notebooks nbdev processed into `proc` for Quarto."
    problems = []
    rels = source_notebooks(site.nbs)
    site.pages = {page_name(r): r for r in rels}
    for qmd in sorted(site.nbs.rglob("*.qmd")) + sorted(site.nbs.rglob("*.md")):
        rel = qmd.relative_to(site.nbs)
        if not any(part[0] in "_." for part in rel.parts): site.pages.setdefault(page_name(rel.as_posix()), rel.as_posix())
    dupes = {}
    for r in rels: dupes.setdefault(page_name(r), []).append(r)
    for name, srcs in dupes.items():
        if len(srcs) > 1: problems.append(f"{', '.join(srcs)}: all become the page {name} (nbdev drops the number prefix)")

    procd, anchors = {}, {}
    for rel in rels:
        p = proc / rel
        if not p.exists(): problems.append(f"nbs/{rel}: not processed (no _proc/{rel}); see the error above"); continue
        procd[rel] = read_nb(p)
        anchors[page_name(rel)] = page_anchors(procd[rel])

    for rel in rels:
        where = f"nbs/{rel}"
        src_path = site.nbs / rel
        mb = src_path.stat().st_size / 2**20
        if mb > max_nb_mb: problems.append(f"{where}: {mb:.1f} MB; keep notebooks under {max_nb_mb:g} MB (smaller figures, fewer outputs)")
        src = read_nb(src_path)
        for i in _runs_in_docs_build(src):
            problems.append(f"{where}: source cell {i} mixes imports with other code: nbdev runs every cell that imports "
                            f"something when it builds the docs (alone, without the cells before it); put the imports "
                            f"in their own cell")
        if rel not in procd: continue
        nb = procd[rel]
        fm = frontmatter(nb)
        if not str(fm.get("title") or "").strip():
            problems.append(f"{where}: no title: open the notebook with a markdown cell `# Title` then `> one-line description`")
        elif not str(fm.get("description") or "").strip():
            problems.append(f"{where}: no description: put `> one-line description` right under the `# {fm['title']}` title")
        problems += [f"{where}: {p}" for p in _check_cells(site, rel, nb, src, anchors, max_output_lines, launch_links)]

    problems += check_sidebar(site, rels)
    problems += check_home_lists_chapters(site, rels)
    return problems


def check_home_lists_chapters(site: Site, rels: list[str]) -> list[str]:
    "The home page (readme_nb) links to every chapter: its chapter list is the book's table of contents."
    home = site.nbs / site.readme_nb
    if not home.exists(): return [f"nbs/{site.readme_nb}: missing (the home page)"]
    linked = set()
    for c in read_nb(home).get("cells", []):
        if c.get("cell_type") != "markdown": continue
        for _, target in md_links(text(c.get("source"))):
            path = unquote(urlsplit(target).path)
            if target.startswith(site.site_url.rstrip("/") + "/") and site.site_url: path = target[len(site.site_url.rstrip("/")) + 1:]
            linked.add(path if path.endswith(".ipynb") else page_name(path) if path.endswith(".html") else path)
    return [f"nbs/{site.readme_nb}: the chapter list does not link to {r}" for r in rels
            if r != site.readme_nb and r not in linked and page_name(r) not in linked]


def _check_cells(site, rel, nb, src, anchors, max_output_lines, launch_links) -> list[str]:
    problems, shown_docs, has_launch = [], set(), False
    hidden = _hidden_lines(src)
    for i, c in enumerate(nb.get("cells", [])):
        kind, source = c.get("cell_type"), text(c.get("source"))
        first = next((l.strip() for l in source.splitlines() if l.strip() and not l.lstrip().startswith("#|")), "")
        at = f"cell {i} ({first[:40]!r})"
        if c.get("metadata", {}).get("picaboo") == LAUNCH_MARK: has_launch = True
        if kind == "markdown":
            for line in strip_code(source).splitlines():
                if re.match(r"^\s*#\s*\|", line): problems.append(f"{at}: directive text in a markdown cell: {line.strip()!r}")
            mds = [source]
        elif kind == "code":
            d, body = directives(source)
            leaked = d.keys() & NBDEV_HIDING
            if leaked: problems.append(f"{at}: a cell marked `#| {sorted(leaked)[0]}` is on the page")
            for line in body:
                if re.match(r"^\s*#\s*\|", line):
                    problems.append(f"{at}: directive {line.strip()!r} after the first line of code: nbdev and Quarto read "
                                    f"`#|` lines only at the top of a cell, so it shows on the page and does nothing")
            shows_source = not (is_false(d.get("echo", "")) or is_false(d.get("include", "")))
            if shows_source:
                for line in body:
                    if line.strip() in hidden:
                        problems.append(f"{at}: shows {line.strip()[:60]!r} from a hidden cell"); break
            if re.match(r"^\s*show_doc\(", "\n".join(body)):
                md = [t for k, t in output_texts(c) if k == "text/markdown" and t.strip()]
                if not md or d.get("output") != "asis":
                    problems.append(f"{at}: `{' '.join(body).strip()}` did not become markdown (no text/markdown output)")
                for t in md:
                    m = re.search(r"^#+\s+(\S+)", t, re.MULTILINE)
                    if m: shown_docs.add(m.group(1).replace("\\_", "_"))
            mds = []
            for k, t in output_texts(c):
                if k == "text/markdown": mds.append(t)
                elif k == "text/html":
                    for lk, target in html_links(t):
                        why = resolve_link(site, rel, target, anchors, lk)
                        if why: problems.append(f"{at}: broken {lk} {why}")
                elif k == "error": problems.append(f"{at}: a saved error output (traceback); rerun the notebook and save it clean")
                if k in ("stream", "text/plain") and len(t.splitlines()) > max_output_lines + 1:
                    problems.append(f"{at}: an output of {len(t.splitlines())} lines (over {max_output_lines}); it was not trimmed")
        else:
            continue
        for md in mds:
            for lk, target in md_links(md):
                why = resolve_link(site, rel, target, anchors, lk)
                if why: problems.append(f"{at}: broken {lk} {why}")
    for i, name in _exported_names(src):
        if name not in shown_docs and not any(s.split(".")[-1] == name or s == name for s in shown_docs):
            problems.append(f"no reference entry (show_doc) for `{name}`, exported in source cell {i}")
    if launch_links and rel != site.readme_nb and not has_launch:
        problems.append("no launch links (Colab / JupyterLab) at the top of the page")
    return problems


def check_sidebar(site: Site, rels: list[str]) -> list[str]:
    "nbs/sidebar.yml lists every notebook, in chapter order (Quarto shows each page's title)."
    p = site.nbs / "sidebar.yml"
    if not p.exists(): return ["nbs/sidebar.yml: missing (nbdev_sidebar did not run)"]
    items = []
    def walk(x):
        if isinstance(x, str): items.append(x)
        elif isinstance(x, dict):
            if "href" in x: items.append(x["href"])
            for v in x.get("contents", []): walk(v)
        elif isinstance(x, list):
            for v in x: walk(v)
    walk((yaml.safe_load(p.read_text(encoding="utf-8")) or {}).get("website", {}).get("sidebar", {}).get("contents", []))
    listed = [i for i in items if i.endswith(".ipynb")]
    problems = [f"nbs/sidebar.yml: {r} is not in the sidebar" for r in rels if r not in listed]
    problems += [f"nbs/sidebar.yml: lists {i}, which is not a notebook in nbs/" for i in listed if i not in rels]
    present = [i for i in listed if i in rels]
    if present != [r for r in sidebar_order(rels) if r in present]: problems.append("nbs/sidebar.yml: chapters out of order")
    return problems


def check_site_config(nbs: Path) -> list[str]:
    "nbs/_quarto.yml has what the book's site needs: sidebar + nbdev metadata, search, light/dark theme, styles."
    p = nbs / "_quarto.yml"
    if not p.exists(): return ["nbs/_quarto.yml: missing"]
    try: cfg = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e: return [f"nbs/_quarto.yml: not valid YAML: {e}"]
    problems = []
    mf = cfg.get("metadata-files") or []
    for f in ("nbdev.yml", "sidebar.yml"):
        if f not in mf: problems.append(f"nbs/_quarto.yml: metadata-files should include {f}")
    html = ((cfg.get("format") or {}).get("html") or {})
    theme = html.get("theme")
    if not (isinstance(theme, dict) and theme.get("light") and theme.get("dark")):
        problems.append("nbs/_quarto.yml: format.html.theme should have light and dark themes")
    for css in ([html["css"]] if isinstance(html.get("css"), str) else html.get("css") or []):
        if not (nbs / css).exists(): problems.append(f"nbs/_quarto.yml: css {css} is not in nbs/")
    web = cfg.get("website") or {}
    if not (web.get("search") or (web.get("navbar") or {}).get("search")):
        problems.append("nbs/_quarto.yml: website search is off")
    return problems


# ---------------------------------------------------------------------------------------------------------------------
# The doc step nbdev lacks: trim long outputs, add launch links

def trim_lines(t: str, max_lines: int) -> str:
    "`t` cut to about `max_lines` lines: the head, a note saying how many lines were cut, and the tail."
    lines = t.splitlines(keepends=True)
    if len(lines) <= max_lines + 1: return t
    tail = max(1, max_lines // 4)
    head = max_lines - tail
    cut = len(lines) - head - tail
    note = f"... {cut} more lines {TRIM_MARK}; run the notebook to see them all ...\n"
    return "".join(lines[:head]) + note + "".join(lines[-tail:])


def launch_links_md(site: Site, rel: str, nbs_name: str) -> str:
    "The markdown for the launch links of notebook `rel`: Colab, JupyterLab (on Binder), GitHub."
    slug, branch = site.repo_slug, site.branch
    path = f"{nbs_name}/{rel}"
    return ("::: {.launch-links}\n"
            f"[Open in Colab](https://colab.research.google.com/github/{slug}/blob/{branch}/{path}) · "
            f"[Launch in JupyterLab](https://mybinder.org/v2/gh/{slug}/{branch}?labpath={path.replace('/', '%2F')}) · "
            f"[View the notebook on GitHub](https://github.com/{slug}/blob/{branch}/{path})\n"
            ":::\n")


def annotate_processed(site: Site, proc: Path, max_output_lines: int = 40, launch_links: bool = True) -> dict:
    "Trim long outputs and add launch links in the processed notebooks (idempotent). Returns counts."
    counts = {"trimmed": 0, "launch": 0}
    for rel in source_notebooks(site.nbs):
        p = proc / rel
        if not p.exists(): continue
        nb = read_nb(p)
        before = json.dumps(nb, sort_keys=True)
        for c in nb.get("cells", []):
            for o in c.get("outputs", []):
                if o.get("output_type") == "stream":
                    t = text(o.get("text"))
                    new = trim_lines(t, max_output_lines)
                    if new != t: o["text"], counts["trimmed"] = new, counts["trimmed"] + 1
                elif o.get("output_type") in ("execute_result", "display_data") and "text/plain" in o.get("data", {}):
                    t = text(o["data"]["text/plain"])
                    new = trim_lines(t, max_output_lines)
                    if new != t: o["data"]["text/plain"], counts["trimmed"] = new, counts["trimmed"] + 1
        cells = nb.get("cells", [])
        cells[:] = [c for c in cells if c.get("metadata", {}).get("picaboo") != LAUNCH_MARK]
        if launch_links and site.repo_slug and rel != site.readme_nb:
            at = 1 if cells and cells[0].get("cell_type") == "raw" else 0
            cells.insert(at, {"cell_type": "markdown", "metadata": {"picaboo": LAUNCH_MARK},
                              "source": launch_links_md(site, rel, site.nbs.name)})
            counts["launch"] += 1
        if json.dumps(nb, sort_keys=True) != before:
            p.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return counts


def unlink_missing_refs(site: Site, proc: Path) -> list[str]:
    """nbdev links every `backticked` name its index knows to `page.html#name`, also private helpers and methods
    that have no reference entry on that page, so the link lands nowhere. Keep the code span, drop such links.
    Returns one note per dropped link (a public name there wants a `show_doc` cell)."""
    site.pages = site.pages or {page_name(r): r for r in source_notebooks(site.nbs)}
    rels = [r for r in source_notebooks(site.nbs) if (proc / r).exists()]
    nbs_ = {r: read_nb(proc / r) for r in rels}
    anchors = {page_name(r): page_anchors(nb) for r, nb in nbs_.items()}
    if not site.site_url: return []
    auto = re.compile(r"\[(`[^`\]]+`)\]\(" + re.escape(site.site_url.rstrip("/")) + r"/([^)#\s]+\.html)#([^)\s]+)\)")
    notes = []
    for r, nb in nbs_.items():
        def fix(m):
            page, frag = m.group(2), m.group(3)
            if page in anchors and frag in anchors[page].ids: return m.group(0)
            if page not in anchors and page in site.pages: return m.group(0)  # its notebook failed: reported already
            notes.append(f"nbs/{r}: {m.group(1)} linked to {page}#{frag}, which has no reference entry: link dropped (add a `show_doc` cell if it is public)")
            return m.group(1)
        changed = False
        for c in nb.get("cells", []):
            if c.get("cell_type") == "markdown":
                new = auto.sub(fix, text(c.get("source")))
                if new != text(c.get("source")): c["source"], changed = new, True
            for o in c.get("outputs", []):
                md = o.get("data", {}).get("text/markdown")
                if md is not None:
                    new = auto.sub(fix, text(md))
                    if new != text(md): o["data"]["text/markdown"], changed = new, True
        if changed: (proc / r).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return list(dict.fromkeys(notes))


# ---------------------------------------------------------------------------------------------------------------------
# Checks on the rendered site (`_docs/`)

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Page(HTMLParser):
    """What the checks need from one HTML page: ids, references (with whether they sit in <main>), the text of
    code blocks (and of cell source code: Quarto's `div.cell-code`), the <title>, the sidebar's links."""
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.refs, self.code, self.cell_code, self.title, self.sidebar = set(), [], [], [], "", []
        self._stack, self._a = [], None  # open elements: (tag, set of roles: main, sidebar, code, cellcode, title)

    def _in(self, role): return any(role in roles for _, roles in self._stack)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if a.get("id"): self.ids.add(a["id"])
        if tag == "a" and a.get("name"): self.ids.add(a["name"])
        ref = a.get("href") if tag in ("a", "link") else a.get("src") if tag in ("img", "script", "source", "iframe") else None
        if ref is not None and not (tag in ("a", "link") and "href" not in a):
            self.refs.append(("image" if tag == "img" else "link", ref, self._in("main")))
        if tag == "a" and self._in("sidebar") and "sidebar-link" in classes: self._a = [a.get("href", ""), ""]
        if tag in _VOID: return
        roles = set()
        if tag == "main": roles.add("main")
        if tag == "nav" and a.get("id") == "quarto-sidebar": roles.add("sidebar")
        if tag in ("pre", "code") and not self._in("code"): roles.add("code"); self.code.append("")
        if "cell-code" in classes and not self._in("cellcode"): roles.add("cellcode"); self.cell_code.append("")
        if tag == "title": roles.add("title")
        self._stack.append((tag, roles))

    def handle_endtag(self, tag):
        if tag == "a" and self._a is not None:
            self.sidebar.append((self._a[0], " ".join(self._a[1].split()))); self._a = None
        if tag in _VOID: return
        for i in range(len(self._stack) - 1, -1, -1):  # close up to the matching open tag (forgiving HTML)
            if self._stack[i][0] == tag: del self._stack[i:]; break

    def handle_data(self, data):
        if self._in("code"): self.code[-1] += data
        if self._in("cellcode"): self.cell_code[-1] += data
        if self._in("title"): self.title += data
        if self._a is not None: self._a[1] += data


def parse_html(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return p


def _plain(md_text: str) -> str:
    "Title text as a browser shows it: `The `picaboo` command` -> `The picaboo command`."
    t = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", md_text)
    return " ".join(re.sub(r"[`*]|(?<!\w)_|_(?!\w)", "", t).split())


def check_rendered(site: Site, docs: Path, titles: dict, launch_links: bool = True) -> list[str]:
    """Problems with the site Quarto rendered into `docs`. `titles` maps notebook (rel to nbs) -> its title;
    `site.pages` must be filled (check_processed does)."""
    problems, parsed = [], {}
    titles = {k: _plain(v) for k, v in titles.items()}
    for html in sorted(docs.rglob("*.html")):
        rel = html.relative_to(docs).as_posix()
        if rel.startswith("site_libs/"): continue
        parsed[rel] = parse_html(html)
    for name, src in sorted(site.pages.items()):
        if not src.endswith(".ipynb"): continue
        if name not in parsed: problems.append(f"_docs/{name}: missing (the page for nbs/{src})"); continue
        title = titles.get(src, "")
        if title and title not in " ".join(parsed[name].title.split()):
            problems.append(f"_docs/{name}: <title> {parsed[name].title.strip()!r} does not carry the title {title!r}")
        if launch_links and src != site.readme_nb and not any("colab.research.google.com" in r for _, r, _ in parsed[name].refs):
            problems.append(f"_docs/{name}: no 'Open in Colab' link")
    if not (docs / "search.json").exists(): problems.append("_docs/search.json: missing, so the site search finds nothing")

    hidden = {}  # page -> distinctive lines of the source cells that page must not show (from its own notebook)
    for name, src in site.pages.items():
        if src.endswith(".ipynb") and (site.nbs / src).exists():
            nb = read_nb(site.nbs / src)
            shown = {l.strip() for c in nb["cells"] if not hides_source(c) for l in text(c.get("source")).splitlines()}
            hidden[name] = {l.strip() for c in nb["cells"] if hides_source(c) for l in text(c.get("source")).splitlines()
                            if len(l.strip()) >= 12 and not l.strip().startswith("#|")} - shown

    for rel, page in parsed.items():
        where = f"_docs/{rel}"
        for kind, target, in_main in page.refs:
            why = _resolve_rendered(site, docs, rel, target, parsed, check_anchor=in_main)
            if why: problems.append(f"{where}: broken {kind} {why}")
        for block in page.code:
            for line in block.splitlines():
                if re.match(r"^\s*#\s*\|", line): problems.append(f"{where}: directive text on the page: {line.strip()!r}")
        for block in page.cell_code:
            for line in block.splitlines():
                if line.strip() in hidden.get(rel, ()): problems.append(f"{where}: shows {line.strip()[:60]!r} from a hidden cell")

    home = parsed.get("index.html")
    if home is not None:
        nb_pages = [(page_name(r), titles.get(r, "")) for r in sidebar_order([s for s in site.pages.values() if s.endswith(".ipynb")])]
        if not home.sidebar: problems.append("_docs/index.html: no sidebar (nav#quarto-sidebar with sidebar links)")
        else:
            hrefs = [(_normalize(PurePosixPath(h.split("#")[0])) or "", t) for h, t in home.sidebar]
            order = []
            for name, title in nb_pages:
                hit = [(i, t) for i, (h, t) in enumerate(hrefs) if h == name or (h in ("", "/") and name == "index.html")]
                if not hit: problems.append(f"_docs/index.html: the sidebar has no link to {name}"); continue
                order.append(hit[0][0])
                if title and hit[0][1] != title and name != "index.html":
                    problems.append(f"_docs/index.html: the sidebar shows {hit[0][1]!r} for {name}, not its title {title!r}")
            if order != sorted(order): problems.append("_docs/index.html: the sidebar lists the chapters out of order")
    return problems


def _resolve_rendered(site: Site, docs: Path, page_rel: str, target: str, parsed: dict,
                      check_anchor: bool = True) -> str | None:
    target = target.strip()
    if not target or target.startswith(("javascript:", "mailto:", "data:")): return None
    if is_external(target):
        rp = repo_path(site, target)
        if rp is not None:
            return None if rp == "" or (site.root / rp).exists() else f"{target} points at {rp}, which is not in the repository"
        base = site.site_url.rstrip("/")
        if not base or not (target == base or target.startswith(base + "/")): return None
        target, page_dir = target[len(base):].lstrip("/"), PurePosixPath(".")
    else:
        page_dir = PurePosixPath(page_rel).parent
    parts = urlsplit(target)
    path, frag = unquote(parts.path), unquote(parts.fragment)
    if not path: rel = page_rel
    else:
        norm = _normalize(PurePosixPath(path.lstrip("/")) if path.startswith("/") else page_dir / path)
        if norm is None: return f"{target} points outside the site"
        if norm == "" or norm.endswith("/"): norm += "index.html"
        if not (docs / norm).exists():
            return f"{target}: no file _docs/{norm}"
        if (docs / norm).is_dir(): norm += "/index.html"
        rel = norm
    if check_anchor and frag and rel in parsed and frag not in parsed[rel].ids: return f"{target}: no anchor #{frag} on {rel}"
    return None
