"""Checks for the picaboo website, used by `tools/docs.py`.

- Processing nbdev lacks (`annotate_processed`): every cell's text written as a list of lines (Quarto drops the line
  ends of a one-string source), progress bars and warnings removed from outputs, long outputs trimmed, `__main__.`
  taken out of signatures, "launch this chapter" links added; `write_sidebar` (the book's two parts, numbered) and
  `write_api_page` (every public name of the package, from each module's `__all__`).
- `render_pages`: each processed notebook rendered to HTML by a real Pandoc (pypandoc-binary), the way Quarto
  shows it (leading `#|` options applied, `output: asis` markdown read as markdown); `check_processed` checks
  that HTML (raw `:::` or `#|` text, run-on headings, missing images, `__main__.`, noise in outputs, code wider
  than the page, links and anchors against the ids Pandoc produced) plus the book's own lints; `check_math` checks
  that every `$...$` / `$$...$$` formula is a MathJax math element with the TeX the author wrote, and
  `check_markdown_copies` that the formulas survive in the markdown copies the site writes (keep-md, commonmark).
- `check_rendered`: the site Quarto wrote (where it is installed), with a maintained link checker if present.
"""
from __future__ import annotations

import ast
import copy
import json
import re
import shutil
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
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
PARTS = ("Part I: From text to an assistant", "Part II: The engineering around it")
CODE_WIDTH = 88         # characters of code a page shows at 1400 px before clipping (Quarto's default theme)
MAX_HEADING = 120       # a heading longer than a sentence swallowed the text under it
PROGRESS = re.compile(r"\d+%\|[^|\n]*\|\s*\d+/\d+|[?\d.]+\s*(?:it/s|s/it|[kMG]?B/s)\]|Writing model shards")
WARNING = re.compile(r"^(?:\S.*?:\d+: )?(?:[A-Z]\w*)?Warning: |^\s*warnings\.warn\(")


def read_nb(path: Path) -> dict:
    "The notebook at `path` as a dict."
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_nb(path: Path, nb: dict):
    Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def text(x) -> str:
    "A notebook text field (a string or a list of lines) as one string."
    return "".join(x) if isinstance(x, list) else (x or "")


def as_lines(x) -> list[str]:
    "A notebook text field as a list of lines, each ending in a newline but the last (what Quarto reads right)."
    return text(x).splitlines(keepends=True)


def directives(source: str) -> tuple[dict, list[str]]:
    "The leading `#|` directives of a code cell (key -> value) and the remaining lines."
    lines, dirs = source.splitlines(), {}
    for i, line in enumerate(lines):
        m = _DIRECTIVE.match(line)
        if m:
            dirs[m.group(1)] = m.group(2)
        elif not (line.strip() == "" or _MAGIC.match(line)):
            return dirs, lines[i:]
    return dirs, []


def is_false(v) -> bool:
    return str(v).strip().lower() in ("false", "no", "0")


def hides_source(cell: dict) -> bool:
    "Is the source of this source-notebook code cell kept off the page (by nbdev or Quarto)?"
    if cell.get("cell_type") != "code":
        return False
    d, _ = directives(text(cell.get("source")))
    return bool(d.keys() & NBDEV_HIDING) or is_false(d.get("include", "")) or is_false(d.get("echo", ""))


def hidden_by_nbdev(cell: dict) -> bool:
    "Is this source-notebook cell removed from the page by nbdev itself?"
    if cell.get("cell_type") != "code":
        return False
    return bool(directives(text(cell.get("source")))[0].keys() & NBDEV_HIDING)


def frontmatter(nb: dict) -> dict:
    "The YAML frontmatter nbdev puts in the first raw cell of a processed notebook ({} if none)."
    cells = nb.get("cells", [])
    if not cells or cells[0].get("cell_type") != "raw":
        return {}
    m = re.match(r"^\s*---\s*\n(.*?)\n---\s*", text(cells[0].get("source")), re.DOTALL)
    if not m:
        return {}
    try:
        return yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError:
        return {}


def output_texts(cell: dict):
    "(kind, text) for each text-like output of a code cell: stream, text/plain, text/markdown, text/html or error."
    for o in cell.get("outputs", []):
        t = o.get("output_type")
        if t == "stream":
            yield "stream", text(o.get("text"))
        elif t == "error":
            yield "error", "\n".join(o.get("traceback", []))
        elif t in ("execute_result", "display_data"):
            for mime in ("text/markdown", "text/html", "text/plain"):
                if mime in o.get("data", {}):
                    yield mime, text(o["data"][mime])


def plain(md_text: str) -> str:
    "Title text as a browser shows it: `The `picaboo` command` -> `The picaboo command`."
    t = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", md_text)
    return " ".join(re.sub(r"[`*]|(?<!\w)_|_(?!\w)", "", t).split())


def notebook_title(path: Path) -> str:
    "The `# Title` of a source notebook (plain text), '' if it has none."
    for c in read_nb(path).get("cells", []):
        if c.get("cell_type") == "markdown":
            m = re.search(r"^#\s+(.+?)\s*$", text(c.get("source")), re.MULTILINE)
            if m:
                return plain(m.group(1))
    return ""


# ---------------------------------------------------------------------------------------------------------------------
# The site: pages, chapters, sidebar

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
    "The html page nbdev/Quarto writes for a notebook `rel` (relative to nbs): `15c_cli.ipynb` -> `cli.html`."
    p = PurePosixPath(rel)
    if p.suffix == ".ipynb":
        return str(p.with_name(re.sub(r"^\d+[a-zA-Z0-9]*_", "", p.name.lower())).with_suffix(".html"))
    return str(p.with_suffix(".html"))


def source_notebooks(nbs: Path) -> list[str]:
    "Notebooks nbdev renders, relative to `nbs`, as posix paths (files and folders starting with _ or . skipped)."
    res = []
    for p in sorted(nbs.rglob("*.ipynb")):
        rel = p.relative_to(nbs)
        if not any(part[0] in "_." for part in rel.parts):
            res.append(rel.as_posix())
    return res


def chapter(rel: str) -> tuple[int, str] | None:
    "(part index, label) of a chapter notebook: `06_model.ipynb` -> (0, '6'), `06a_checkpoints.ipynb` -> (1, '6a')."
    m = re.match(r"^(\d+)([a-z]?)_", PurePosixPath(rel).name)
    if not m:
        return None
    return (1 if m.group(2) else 0), f"{int(m.group(1))}{m.group(2)}"


def sidebar_contents(nbs: Path, extra_pages: tuple = ("api.qmd",)) -> list:
    "The sidebar: the home page, then the book's two parts with numbered chapters, then `extra_pages`."
    rels = source_notebooks(nbs)
    parts = [[] for _ in PARTS]
    for rel in rels:
        ch = chapter(rel)
        if ch:
            parts[ch[0]].append({"text": f"{ch[1]} {notebook_title(nbs / rel)}".strip(), "href": rel})
    home = [r for r in rels if chapter(r) is None]
    home.sort(key=lambda r: (r != "index.ipynb", r))
    sections = [{"section": name, "contents": items} for name, items in zip(PARTS, parts) if items]
    return home + sections + list(extra_pages)


def write_sidebar(nbs: Path, extra_pages: tuple = ("api.qmd",)) -> Path:
    "Write nbs/sidebar.yml (generated on every build; gitignored) from the notebooks' names and titles."
    p = nbs / "sidebar.yml"
    yml = "# Generated by tools/docs.py from the notebooks' file names and titles; do not edit.\n"
    yml += yaml.safe_dump({"website": {"sidebar": {"contents": sidebar_contents(nbs, extra_pages)}}},
                          sort_keys=False, allow_unicode=True, width=200)
    if not p.exists() or p.read_text(encoding="utf-8") != yml:
        p.write_text(yml, encoding="utf-8")
    return p


def check_sidebar(nbs: Path) -> list[str]:
    "nbs/sidebar.yml: index first, then the two parts, each chapter in its part, in order, as 'N Title'."
    p = nbs / "sidebar.yml"
    if not p.exists():
        return ["nbs/sidebar.yml: missing"]
    contents = ((yaml.safe_load(p.read_text(encoding="utf-8")) or {}).get("website", {}).get("sidebar", {})
                .get("contents", []))
    problems, rels = [], source_notebooks(nbs)
    if rels and "index.ipynb" in rels and contents[:1] not in (["index.ipynb"], [{"href": "index.ipynb"}]):
        problems.append("nbs/sidebar.yml: the home page (index.ipynb) is not first")
    sections = {s.get("section"): s.get("contents", []) for s in contents if isinstance(s, dict) and "section" in s}
    for i, name in enumerate(PARTS):
        want = [r for r in rels if chapter(r) and chapter(r)[0] == i]
        items = sections.get(name)
        if want and items is None:
            problems.append(f"nbs/sidebar.yml: no section {name!r} (the sidebar should group the chapters by part)")
            continue
        got = [x.get("href") if isinstance(x, dict) else x for x in items or []]
        if got != want:
            problems.append(f"nbs/sidebar.yml: section {name!r} lists {got}, not {want}")
        for x in items or []:
            if isinstance(x, dict) and x.get("href") in want:
                label = chapter(x["href"])[1]
                if not str(x.get("text", "")).startswith(f"{label} "):
                    problems.append(f"nbs/sidebar.yml: {x['href']} shows {x.get('text')!r}, not '{label} <its title>'")
    return problems


# ---------------------------------------------------------------------------------------------------------------------
# The processing nbdev lacks

def trim_lines(t: str, max_lines: int) -> str:
    "`t` cut to about `max_lines` lines: the head, a note saying how many lines were cut, and the tail."
    lines = t.splitlines(keepends=True)
    if len(lines) <= max_lines + 1:
        return t
    tail = max(1, max_lines // 4)
    head = max_lines - tail
    cut = len(lines) - head - tail
    note = f"... {cut} more lines {TRIM_MARK}; run the notebook to see them all ...\n"
    return "".join(lines[:head]) + note + "".join(lines[-tail:])


def strip_noise(t: str) -> str:
    "`t` without progress bars (tqdm's text) and warnings (Python's `file:line: XWarning: ...` and its source line)."
    out, in_warning = [], False
    for line in t.splitlines(keepends=True):
        shown = line.rstrip("\n").split("\r")[-1]  # a terminal shows only what follows the last carriage return
        if WARNING.search(shown):
            in_warning = True
            continue
        if in_warning and shown[:1].isspace():  # the source line Python prints under a warning
            continue
        in_warning = False
        if PROGRESS.search(shown) or (not shown.strip() and "\r" in line):
            continue
        out.append(line if "\r" not in line else shown + "\n")
    return "".join(out)


def unmain(t: str) -> str:
    "Signatures of classes a notebook defines say `__main__.Name`; the page says `Name`."
    return re.sub(r"\b__main__\.(?=[A-Za-z_])", "", t)


def clean_output_text(t: str, max_lines: int) -> str:
    return trim_lines(strip_noise(unmain(t)), max_lines)


def launch_links_md(site: Site, rel: str, nbs_name: str) -> str:
    "The markdown for the launch links of notebook `rel`: Colab, JupyterLab (on Binder), GitHub."
    slug, branch = site.repo_slug, site.branch
    path = f"{nbs_name}/{rel}"
    return ("::: {.launch-links}\n"
            f"[Open in Colab](https://colab.research.google.com/github/{slug}/blob/{branch}/{path}) · "
            f"[Launch in JupyterLab](https://mybinder.org/v2/gh/{slug}/{branch}?labpath={path.replace('/', '%2F')}) · "
            f"[View the notebook on GitHub](https://github.com/{slug}/blob/{branch}/{path})\n"
            ":::\n")


def _clean_outputs(cell: dict, max_output_lines: int) -> int:
    "Noise out, long text trimmed, `__main__.` out, every text as a list of lines; returns how many were trimmed."
    trimmed, kept = 0, []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            new = clean_output_text(text(o.get("text")), max_output_lines)
            trimmed += TRIM_MARK in new and TRIM_MARK not in text(o.get("text"))
            if not new.strip():
                continue
            o["text"] = as_lines(new)
        for mime, v in o.get("data", {}).items():
            if mime.startswith("text/") and isinstance(v, (str, list)):
                new = unmain(text(v))
                if mime == "text/plain":
                    new = clean_output_text(new, max_output_lines)
                    trimmed += TRIM_MARK in new and TRIM_MARK not in text(v)
                o["data"][mime] = as_lines(new)
        kept.append(o)
    if "outputs" in cell:
        cell["outputs"] = kept
    return trimmed


def annotate_processed(site: Site, proc: Path, max_output_lines: int = 40, launch_links: bool = True) -> dict:
    "The processing nbdev lacks, on each processed notebook (idempotent). Returns counts."
    counts = {"trimmed": 0, "launch": 0}
    for rel in source_notebooks(site.nbs):
        p = proc / rel
        if not p.exists():
            continue
        nb = read_nb(p)
        before = json.dumps(nb, sort_keys=True)
        cells = nb.get("cells", [])
        cells[:] = [c for c in cells if c.get("metadata", {}).get("picaboo") != LAUNCH_MARK]
        if launch_links and site.repo_slug and rel != site.readme_nb:
            at = 1 if cells and cells[0].get("cell_type") == "raw" else 0
            cells.insert(at, {"cell_type": "markdown", "metadata": {"picaboo": LAUNCH_MARK},
                              "source": launch_links_md(site, rel, site.nbs.name)})
            counts["launch"] += 1
        for c in cells:
            c["source"] = as_lines(c.get("source"))
            counts["trimmed"] += _clean_outputs(c, max_output_lines)
        if json.dumps(nb, sort_keys=True) != before:
            write_nb(p, nb)
    return counts


def unlink_missing_refs(site: Site, proc: Path, ids: dict) -> tuple[list[str], list[str]]:
    """nbdev links every `backticked` name its index knows to `page.html#name`, also private helpers and methods
    that have no reference entry on that page, so the link lands nowhere. Keep the code span, drop such links.
    `ids`: page name -> the ids Pandoc gave it. Returns notes (one per dropped link) and the notebooks changed."""
    if not site.site_url:
        return [], []
    auto = re.compile(r"\[(`[^`\]]+`)\]\(" + re.escape(site.site_url.rstrip("/")) + r"/([^)#\s]+\.html)#([^)\s]+)\)")
    notes, changed = [], []
    for r in source_notebooks(site.nbs):
        if not (proc / r).exists():
            continue
        nb = read_nb(proc / r)

        def fix(m, r=r):
            page, frag = m.group(2), m.group(3)
            if page not in ids or frag in ids[page]:
                return m.group(0)  # a page that failed to render is reported already
            notes.append(f"nbs/{r}: {m.group(1)} linked to {page}#{frag}, which has no reference entry: link dropped "
                         f"(add a `show_doc` cell if it is public)")
            return m.group(1)
        before = json.dumps(nb)
        for c in nb.get("cells", []):
            if c.get("cell_type") == "markdown":
                c["source"] = as_lines(auto.sub(fix, text(c.get("source"))))
            for o in c.get("outputs", []):
                if "text/markdown" in o.get("data", {}):
                    o["data"]["text/markdown"] = as_lines(auto.sub(fix, text(o["data"]["text/markdown"])))
        if json.dumps(nb) != before:
            write_nb(proc / r, nb)
            changed.append(r)
    return list(dict.fromkeys(notes)), changed


# ---------------------------------------------------------------------------------------------------------------------
# The API reference page: every public name of the package, from each module's `__all__`

def api_entries(root: Path, lib: str) -> list[dict]:
    "One dict per module of the package: module, notebook (rel to nbs) and names [(name, one-line description)]."
    res = []
    for py in sorted((root / lib).glob("*.py")):
        if py.name.startswith("_"):
            continue
        src = py.read_text(encoding="utf-8")
        m = (re.search(r"File to edit: \.\./[^/\s]+/(\S+?\.ipynb)", src)
             or re.search(r"^# %% \.\./[^/\s]+/(\S+?\.ipynb)", src, re.M))  # modules from `#| export name`
        tree = ast.parse(src)
        defs, names = {}, []
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defs[node.name] = (ast.get_docstring(node) or "").strip().split("\n")[0]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                    if isinstance(t, ast.Name) and t.id == "__all__":
                        names = list(ast.literal_eval(node.value))
                    elif isinstance(t, ast.Name) and node.value is not None:
                        line = src.splitlines()[node.lineno - 1]
                        comment = line.split("  # ", 1)[1].strip() if "  # " in line else ""
                        value = ast.get_source_segment(src, node.value) or ""
                        defs[t.id] = comment or ("`" + value.replace("`", "'").replace("\n", " ")[:60] + "`")
        if names:
            res.append({"module": f"{lib}.{py.stem}", "notebook": m.group(1) if m else "",
                        "names": [(n, defs.get(n, "")) for n in names]})
    return res


def api_page_md(site: Site, lib: str, ids: dict) -> str:
    "The markdown of the API reference page; a name links to its reference entry where its chapter has one."
    out = ["---", "title: API reference",
           f"description: Every public name of the `{lib}` package, and the chapter that builds it.", "---", "",
           "Generated from each module's `__all__` when the site is built.", ""]
    for mod in api_entries(site.root, lib):
        nbk = mod["notebook"]
        ch = chapter(nbk)
        title = notebook_title(site.nbs / nbk) if (site.nbs / nbk).exists() else ""
        where = f"[{ch[1] + ' ' if ch else ''}{title or nbk}]({nbk})" if nbk else "its notebook"
        out += [f"## {mod['module']}", "", f"Built in {where}.", "", "| Name | What it is |", "|:--|:--|"]
        page_ids = ids.get(page_name(nbk), set())
        for name, desc in mod["names"]:
            target = f"{nbk}#{name.lower()}" if name.lower() in page_ids else nbk
            desc = desc.replace("|", "\\|")
            out.append(f"| [`{name}`]({target}) | {desc} |")
        out.append("")
    return "\n".join(out)


def write_api_page(site: Site, proc: Path, lib: str, ids: dict) -> Path:
    p = proc / "api.qmd"
    p.write_text(api_page_md(site, lib, ids), encoding="utf-8")
    return p


# ---------------------------------------------------------------------------------------------------------------------
# Rendering with a real Pandoc, the way Quarto shows a notebook

@lru_cache(maxsize=1)
def _pandoc() -> str:
    try:
        import pypandoc
    except ImportError as e:
        raise SystemExit("tools/docs.py needs Pandoc: pip install pypandoc-binary (it is in the dev extra)") from e
    return pypandoc.get_pandoc_path()


@lru_cache(maxsize=1)
def pandoc_format() -> str:
    "Pandoc's notebook reader with the markdown Quarto reads (fenced divs, attributes, ...) and pandoc's own ids."
    ext = subprocess.run([_pandoc(), "--list-extensions=markdown"], capture_output=True, text=True, check=True).stdout
    on = [e[1:] for e in ext.split() if e.startswith("+")]
    return "ipynb-gfm_auto_identifiers" + "".join(f"+{e}" for e in on)


def _strip_leading_directives(source):
    "A code cell's source without its leading `#|` lines (Quarto reads and removes them), in the same form."
    lines = as_lines(source)
    while lines and (_DIRECTIVE.match(lines[0]) or not lines[0].strip()):
        lines.pop(0)
    return lines if isinstance(source, list) else "".join(lines)


def quarto_view(nb: dict) -> dict:
    """A copy of a processed notebook as Quarto shows it, for Pandoc's notebook reader: leading `#|` options applied
    and removed, markdown outputs as markdown cells, images left out (they are embedded), and a source that is one
    string instead of a list of lines without its line ends (Quarto 1.10 drops them: a heading swallows the rest of
    its cell, a `:::` fenced div prints as raw text)."""
    nb, cells = copy.deepcopy(nb), []
    for c in nb.get("cells", []):
        if c.get("cell_type") == "raw":
            continue  # the frontmatter
        if isinstance(c.get("source"), str):
            c["source"] = [c["source"].replace("\r", "").replace("\n", "")]
        if c.get("cell_type") != "code":
            cells.append(c)
            continue
        d, _ = directives(text(c.get("source")))
        if is_false(d.get("include", "")):
            continue
        c["execution_count"] = c.get("execution_count") or 0
        c["source"] = "" if is_false(d.get("echo", "")) else _strip_leading_directives(c.get("source"))
        outputs, md_cells = [], []
        for o in [] if is_false(d.get("output", "")) else c.get("outputs", []):
            data = o.get("data", {})
            if "text/markdown" in data:
                md_cells.append({"cell_type": "markdown", "metadata": {}, "source": data["text/markdown"]})
                continue
            if "execution_count" in o:
                o["execution_count"] = o["execution_count"] or 0
            for k in [k for k in data if k.startswith("image/")]:
                del data[k]
            if o.get("output_type") == "stream" or data or o.get("output_type") == "error":
                outputs.append(o)
        c["outputs"] = outputs
        if text(c["source"]).strip() or outputs:
            cells.append(c)
        cells += md_cells
    nb["cells"] = cells
    return nb


# A whole page, its math as MathJax reads it (`\(...\)`, `\[...\]`) and the MathJax script it loads, as with
# Quarto's default `html-math-method`
HTML_ARGS = ("-t", "html", "--wrap=none", "--standalone", "--mathjax", "--metadata", "pagetitle=page")


def pandoc_html(nb: dict) -> str:
    "HTML for a processed notebook from Pandoc's notebook reader (see `quarto_view`)."
    r = subprocess.run([_pandoc(), "-f", pandoc_format(), *HTML_ARGS],
                       input=json.dumps(quarto_view(nb)), capture_output=True, text=True, encoding="utf-8", check=False)
    if r.returncode != 0:
        raise RuntimeError(f"pandoc could not read it: {r.stderr.strip()[:500]}")
    return r.stdout


def markdown_html(md: str) -> str:
    r = subprocess.run([_pandoc(), "-f", "markdown", *HTML_ARGS], input=md,
                       capture_output=True, text=True, encoding="utf-8", check=True)
    return r.stdout


class Page(HTMLParser):
    """What the checks need from an HTML page: ids, references, headings, the lines of text outside code and math,
    the lines of code blocks (and whether they are an output), the math elements (kind, TeX), the scripts it loads,
    and emphasis inside a word (`2<em>d</em>C`: markdown ate the `*` of a formula written without `$`)."""
    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                      "wbr"})
    EMPH = re.compile(r"([^\s>]{0,12})<(em|strong)>((?:(?!</?\2>).){1,60})</\2>([^\s<]{0,12})", re.DOTALL)

    def __init__(self, html: str = ""):
        super().__init__(convert_charrefs=True)
        self.ids, self.refs, self.headings, self.prose, self.pres = set(), [], [], [""], []
        self.math, self.scripts = [], []  # [kind ('inline' or 'display'), TeX], script srcs
        self.emph_in_words = []  # `2*d*C`, as written, for each emphasis with a letter, digit or bracket touching it
        for m in self.EMPH.finditer(html):
            before, tag, inner, after = m.groups()
            if re.search(r"[\w)\]}]$", before) or re.match(r"[\w(\[{]", after):
                mark = "*" if tag == "em" else "**"
                shown = re.sub(r"<[^>]+>", "", f"{before}{mark}{inner}{mark}{after}")
                self.emph_in_words.append(" ".join(shown.split()))
        self._stack = []  # open elements: (tag, roles)
        self.feed(html)

    def _in(self, role):
        return any(role in roles for _, roles in self._stack)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if a.get("id"):
            self.ids.add(a["id"])
        if tag in ("a", "img", "source", "iframe") and (a.get("href") or a.get("src")) is not None:
            ref = a.get("href") if tag == "a" else a.get("src")
            if ref is not None:
                self.refs.append(("image" if tag == "img" else "link", ref))
        if tag in self.VOID:
            return
        roles = set()
        if tag in ("pre", "code"):
            roles.add("code")
        if tag == "pre" and not self._in("pre"):
            roles.add("pre")
            self.pres.append([self._in("output"), ""])
        if any(c == "output" or c.startswith("cell-output") for c in classes):
            roles.add("output")
        if re.fullmatch(r"h[1-6]", tag):
            roles.add("heading")
            self.headings.append("")
        if tag in ("p", "div", "li", "td", "th", "section", "br") or re.fullmatch(r"h[1-6]", tag):
            self.prose.append("")
        if tag in ("script", "style", "title"):
            roles.add("skip")
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        if tag == "span" and "math" in classes:
            roles.add("math")
            self.math.append(["display" if "display" in classes else "inline", ""])
        self._stack.append((tag, roles))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        for i in range(len(self._stack) - 1, -1, -1):  # close up to the matching open tag (forgiving HTML)
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data):
        if self._in("skip"):
            return
        if self._in("pre"):
            self.pres[-1][1] += data
        elif self._in("math"):
            self.math[-1][1] += data
        elif not self._in("code"):
            self.prose[-1] += data
        if self._in("heading"):
            self.headings[-1] += data


def render_pages(site: Site, proc: Path, rels: list[str], n_workers: int = 2) -> tuple[dict, list[str]]:
    "Pandoc's HTML for each processed notebook in `rels` (rel -> html), and the problems of those it could not read."
    def one(rel):
        try:
            return rel, pandoc_html(read_nb(proc / rel)), None
        except Exception as e:  # noqa: BLE001 (reported with the notebook's name)
            return rel, None, f"nbs/{rel}: {e}"
    with ThreadPoolExecutor(max(1, n_workers)) as ex:
        done = list(ex.map(one, [r for r in rels if (proc / r).exists()]))
    return {r: h for r, h, _ in done if h is not None}, [p for _, _, p in done if p]


def site_wraps_code(nbs: Path) -> bool:
    "Does the site wrap long code lines (Quarto's `code-overflow: wrap`, or `white-space: pre-wrap` on code in CSS)?"
    p = nbs / "_quarto.yml"
    cfg = (yaml.safe_load(p.read_text(encoding="utf-8")) or {}) if p.exists() else {}
    html = ((cfg.get("format") or {}).get("html") or {})
    if html.get("code-overflow") == "wrap":
        return True
    css = html.get("css") or []
    for name in [css] if isinstance(css, str) else css:
        rules = re.sub(r"/\*.*?\*/", "", (nbs / name).read_text(), flags=re.DOTALL) if (nbs / name).exists() else ""
        for sel, body in re.findall(r"([^{}]+)\{([^}]*)\}", rules):
            if re.search(r"\bcode\b", sel) and re.search(r"white-space\s*:\s*pre-wrap", body):
                return True
    return False


def check_html(page: Page, code_width: int | None = CODE_WIDTH) -> list[str]:
    "What a reader would see wrong on a page: raw markup, run-on headings, `__main__.`, noise, clipped code."
    problems = []
    for line in (l for chunk in page.prose for l in chunk.splitlines()):
        if ":::" in line:
            problems.append(f"raw fenced-div text on the page: {line.strip()[:80]!r} (a cell lost its line ends)")
        if re.match(r"^\s*#\s*\|", line):
            problems.append(f"directive text on the page: {line.strip()[:60]!r}")
    if page.math and not any(MATH_SCRIPT.search(src) for src in page.scripts):
        problems.append(f"{len(page.math)} formulas on the page but no MathJax (or KaTeX) script loads: they show as "
                        "raw TeX")
    for h in page.headings:
        if len(" ".join(h.split())) > MAX_HEADING:
            problems.append(f"a heading of {len(h)} characters ({' '.join(h.split())[:60]!r}...): its markdown "
                            f"cell lost its line ends, so the heading swallowed the text under it")
    for is_output, block in page.pres:
        for line in block.splitlines():
            if "__main__." in line:
                problems.append(f"`__main__.` on the page: {line.strip()[:80]!r}")
            if not is_output and re.match(r"^\s*#\s*\|", line):
                problems.append(f"directive text in code on the page: {line.strip()!r}")
            if is_output and (PROGRESS.search(line) or WARNING.search(line)):
                problems.append(f"a progress bar or warning in an output: {line.strip()[:80]!r}")
            if code_width and len(line) > code_width:
                problems.append(f"a code line of {len(line)} characters, clipped at {code_width} (wrap code in "
                                f"nbs/styles.css): {line.strip()[:50]!r}...")
    return list(dict.fromkeys(problems))


# ---------------------------------------------------------------------------------------------------------------------
# Math: the formulas as the author delimited them, on the page (MathJax) and in the markdown copies of each page

MATH_METHODS = ("mathjax", "katex", "mathml", "webtex")  # html-math-method values that show TeX as formulas
MATH_SCRIPT = re.compile(r"mathjax|katex", re.IGNORECASE)
# Quarto's `gfm` format: Pandoc's commonmark writer with these extensions (quarto-cli, format-markdown-consts.ts)
QUARTO_GFM = ("commonmark+autolink_bare_uris+emoji+footnotes+gfm_auto_identifiers+pipe_tables+strikeout+task_lists"
              "+tex_math_dollars")
MD_WRITERS = {"commonmark": "commonmark", "gfm": QUARTO_GFM, "commonmark_x": "commonmark_x", "markdown": "markdown"}
# fenced code, also indented in a list; code spans
_FENCED = re.compile(r"^[ \t]*(?P<f>`{3,}|~{3,})[^\n]*\n.*?^[ \t]*(?P=f)[`~]*[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)
_PROSE_IN_MATH = re.compile(r"(?:\b[A-Za-z]{3,}\b[\s,.;:]+){3}")  # three words in a row: prose, not a formula


def tex_key(kind: str, tex: str) -> tuple[str, str]:
    "A formula as the checks compare it: its kind and its TeX, whitespace runs as one space."
    return kind, " ".join(tex.split())


def show_math(kind: str, tex: str) -> str:
    "A formula as the author writes it: `$q_i$`, `$$x$$`."
    d = "$$" if kind == "display" else "$"
    return f"{d}{' '.join(tex.split())}{d}"


def source_math(md: str) -> tuple[list[tuple[str, str]], list[str], int]:
    r"""The formulas of markdown text `md` as its author delimited them, outside code: (kind, TeX) for each `$...$`
    (inline) and `$$...$$` (display), each `$` paired with the next one in the same paragraph; the text around each
    `$` left without a partner; and how many literal dollars (`\$`) it has.
    `source_math("a $q_i$ b\n\n$$\nx\n$$")` -> `([('inline', 'q_i'), ('display', '\nx\n')], [], 0)`"""
    t = _FENCED.sub(lambda m: "\n" * m.group(0).count("\n"), md)
    t = _CODE_SPAN.sub("code", t)
    escaped = t.count("\\$")
    t = t.replace("\\$", "")
    formulas, strays = [], []
    for para in re.split(r"\n[ \t]*\n", t):
        i = para.find("$")
        while i >= 0:
            delim = "$$" if para.startswith("$$", i) else "$"
            end = para.find(delim, i + len(delim))
            if end < 0:
                strays.append(" ".join(para[max(0, i - 40):i + 40].split()))
                i = para.find("$", i + len(delim))
                continue
            formulas.append(("display" if delim == "$$" else "inline", para[i + len(delim):end]))
            i = para.find("$", end + len(delim))
    return formulas, strays, escaped


def page_math(page: Page) -> list[tuple[str, str]]:
    "The math elements of a page: (kind, TeX), without MathJax's `\\(...\\)` / `\\[...\\]` around the TeX."
    res = []
    for kind, tex in page.math:
        tex = tex.strip()
        if tex[:2] in ("\\(", "\\[") and tex[-2:] in ("\\)", "\\]"):
            tex = tex[2:-2]
        res.append((kind, tex))
    return res


def check_math(page: Page, md: str) -> list[str]:
    """Each formula of the page's markdown `md` is a MathJax math element with the same TeX, and nothing else is:
    no `$` left in the text, no prose read as a formula, no emphasis inside a word (a formula without its `$`)."""
    want, strays, escaped = source_math(md)
    got = page_math(page)
    problems = [f"a `$` without a partner: {ctx!r} (close the formula with `$`, keep a `$$` block free of blank "
                f"lines, and write a literal dollar as `\\$`)" for ctx in strays]
    written = {tex_key(*f): f[1] for f in want}
    missing = Counter(tex_key(*f) for f in want) - Counter(tex_key(*f) for f in got)
    extra = Counter(tex_key(*f) for f in got) - Counter(tex_key(*f) for f in want)
    for kind, tex in missing:
        hint = ("a space or line end just inside a `$`: Pandoc reads `$x$` as math, not `$ x$` or `$x $`"
                if kind == "inline" and written[kind, tex] != written[kind, tex].strip() else
                "a `$` paired with the wrong partner, or a digit right after the closing `$`?")
        problems.append(f"the formula {show_math(kind, tex)} is not math on the page ({hint})")
    for kind, tex in extra:
        problems.append(f"math on the page that the markdown does not delimit as a formula: {show_math(kind, tex)}")
    for kind, tex in got:
        braces = re.sub(r"\\[{}]", "", tex)
        if braces.count("{") != braces.count("}"):
            problems.append(f"the formula {show_math(kind, tex)} has unbalanced braces: MathJax shows an error there")
        words = re.sub(r"\\(?:text|mathrm|operatorname|textrm|mbox)\{[^{}]*\}|\\[A-Za-z]+", " ", tex)
        if _PROSE_IN_MATH.search(words):
            problems.append(f"prose read as a formula: {show_math(kind, tex)[:80]!r} (a `$` without its partner "
                            "paired with the next formula's)")
    dollars = [l.strip() for chunk in page.prose for l in chunk.splitlines() if "$" in l]
    if sum(l.count("$") for l in dollars) > escaped:
        problems += [f"a `$` in the text of the page: {l[:80]!r} (a formula Pandoc did not read as math)"
                     for l in dollars]
    problems += [f"emphasis inside a word: {e!r} (markdown read the `*` or `_` of a formula written without `$...$`)"
                 for e in page.emph_in_words]
    return list(dict.fromkeys(problems))


def markdown_text(nb: dict) -> str:
    """A processed notebook's markdown as Quarto hands it to Pandoc, what `keep-md` leaves in `<page>.html.md`:
    markdown cells as written, code cells as fenced code, markdown outputs (reference entries) as markdown. (Other
    outputs go into fenced blocks there; they hold no math and are left out.)"""
    parts = []
    for c in quarto_view(nb)["cells"]:
        src = text(c.get("source"))
        if c.get("cell_type") == "markdown":
            parts.append(src)
        elif c.get("cell_type") == "code" and src.strip():
            fence = "`" * max([3] + [len(r) + 1 for r in re.findall(r"`+", src)])
            parts.append(f"{fence}python\n{src}\n{fence}")
    return "\n\n".join(parts) + "\n"


def markdown_formats(nbs: Path) -> dict[str, str]:
    """The markdown copies nbs/_quarto.yml asks Quarto for: format name -> the Pandoc writer Quarto calls for it (its
    base writer, then the extensions in the name and in the format's `variant`, as Quarto appends them)."""
    p = nbs / "_quarto.yml"
    cfg = (yaml.safe_load(p.read_text(encoding="utf-8")) or {}) if p.exists() else {}
    res = {}
    for name, opts in (cfg.get("format") or {}).items():
        m = re.match(r"^([a-z_]+)(.*)$", str(name))
        if m and m.group(1) in MD_WRITERS:
            variant = str(opts.get("variant") or "") if isinstance(opts, dict) else ""
            res[str(name)] = MD_WRITERS[m.group(1)] + m.group(2) + variant
    return res


def _pandoc_run(args: list[str], stdin: str) -> str:
    r = subprocess.run([_pandoc(), *args], input=stdin, capture_output=True, text=True, encoding="utf-8", check=False)
    if r.returncode != 0:
        raise RuntimeError(f"pandoc {' '.join(args)}: {r.stderr.strip()[:500]}")
    return r.stdout


def ast_math(ast) -> list[tuple[str, str]]:
    "(kind, TeX) of every Math element of a Pandoc JSON AST, in document order."
    res = []
    if isinstance(ast, dict):
        if ast.get("t") == "Math":
            kind, tex = ast["c"]
            res.append(("display" if kind["t"] == "DisplayMath" else "inline", tex))
        else:
            for v in ast.values():
                res += ast_math(v)
    elif isinstance(ast, list):
        for v in ast:
            res += ast_math(v)
    return res


def copy_math(md: str, writers: dict[str, str]) -> tuple[list, dict[str, list]]:
    """The formulas of markdown `md` as Quarto's markdown reader finds them, and for each markdown format (name ->
    Pandoc writer) the formulas a math-aware markdown reader (`$...$`) finds in the copy that writer makes of it."""
    ast = _pandoc_run(["-f", "markdown", "-t", "json"], md)
    copies = {}
    for name, writer in writers.items():
        copy_md = _pandoc_run(["-f", "json", "-t", writer, "--wrap=none"], ast)
        reader = "markdown" if writer.startswith("markdown") else "commonmark+tex_math_dollars"
        copies[name] = ast_math(json.loads(_pandoc_run(["-f", reader, "-t", "json"], copy_md)))
    return ast_math(json.loads(ast)), copies


def check_markdown_copies(site: Site, proc: Path, rels: list[str], n_workers: int = 2) -> list[str]:
    """Every formula of every page keeps its TeX and its `$` delimiters in the markdown copies the site writes: the
    `.html.md` that `keep-md` keeps is the page's markdown as written (`markdown_text`), and each markdown format of
    nbs/_quarto.yml (`commonmark`, `gfm`) is what Pandoc's writer makes of it. Pandoc's commonmark writer turns TeX
    into Unicode and HTML (`*q* ⋅ *k*<sub>*j*</sub>`) unless the format has the `tex_math_dollars` extension."""
    writers = markdown_formats(site.nbs)
    pages = {r: markdown_text(read_nb(proc / r)) for r in rels if (proc / r).exists()}
    pages = {r: md for r, md in pages.items() if source_math(md)[0]}
    if not writers or not pages:
        return []

    def one(item):
        rel, md = item
        try:
            return rel, copy_math(md, writers), None
        except Exception as e:  # noqa: BLE001 (reported with the page's name)
            return rel, None, f"nbs/{rel}: {e}"
    problems = []
    with ThreadPoolExecutor(max(1, n_workers)) as ex:
        for rel, found, err in ex.map(one, pages.items()):
            if err:
                problems.append(err)
                continue
            source, copies = found
            for name, got in copies.items():
                lost = Counter(tex_key(*f) for f in source) - Counter(tex_key(*f) for f in got)
                if not lost:
                    continue
                fix = ("give the format `variant: +tex_math_dollars` in nbs/_quarto.yml, so Pandoc writes `$...$`"
                       if "tex_math_dollars" not in writers[name] else "")
                shown = ", ".join(show_math(*f) for f in list(lost)[:3])
                problems.append(f"nbs/{rel}: the `{name}` copy of {page_name(rel)} loses {sum(lost.values())} of its "
                                f"{len(source)} formulas ({shown}{', ...' if len(lost) > 3 else ''}): a reader of "
                                f"that markdown gets no formula{'; ' + fix if fix else ''}")
    return problems


def written_copies(site: Site, docs: Path, rel: str) -> list[Path]:
    """The markdown copies of notebook `rel`'s page that a Quarto render left: keep-md's `.html.md` (next to the
    processed notebook, or in the site) and the markdown formats' `.md` (in the site)."""
    nb, page = PurePosixPath(rel), PurePosixPath(page_name(rel))
    proc = site.root / "_proc"
    names = [proc / nb.with_suffix(".html.md"), docs / page.with_suffix(".html.md"), docs / page.with_suffix(".md"),
             proc / nb.with_suffix(".md")]
    return [p for p in dict.fromkeys(names) if p.exists()]


def check_written_copies(site: Site, docs: Path, out=print) -> list[str]:
    """Where Quarto rendered the site: the formulas of each page (from its processed notebook in `_proc/`) are
    `$`-delimited formulas with the same TeX in the markdown copies Quarto wrote of it."""
    problems, pages_with_math, checked = [], 0, 0
    for rel in (r for r in site.pages.values() if r.endswith(".ipynb")):
        nb = site.root / "_proc" / rel
        want = source_math(markdown_text(read_nb(nb)))[0] if nb.exists() else []
        if not want:
            continue
        pages_with_math += 1
        for copy_path in written_copies(site, docs, rel):
            checked += 1
            reader = "markdown" if copy_path.name.endswith(".html.md") else "commonmark+tex_math_dollars"
            got = ast_math(json.loads(_pandoc_run(["-f", reader, "-t", "json"], copy_path.read_text(encoding="utf-8"))))
            lost = Counter(tex_key(*f) for f in want) - Counter(tex_key(*f) for f in got)
            if lost:
                where = copy_path.relative_to(site.root).as_posix()
                problems.append(f"{where}: {sum(lost.values())} of the {len(want)} formulas of nbs/{rel} are not "
                                f"formulas there ({', '.join(show_math(*f) for f in list(lost)[:3])})")
    if pages_with_math and not checked:
        out(f"Math in the markdown copies not checked on the rendered site: Quarto left no .html.md or .md copy of "
            f"the {pages_with_math} pages with formulas.")
    return problems


def check_math_method(nbs: Path) -> list[str]:
    """The site shows TeX as formulas: nbs/_quarto.yml's `html-math-method` is unset (Quarto's default: MathJax,
    which Quarto loads on every page with math) or one that renders TeX in the browser."""
    p = nbs / "_quarto.yml"
    cfg = (yaml.safe_load(p.read_text(encoding="utf-8")) or {}) if p.exists() else {}
    method = ((cfg.get("format") or {}).get("html") or {}).get("html-math-method")
    name = method.get("method") if isinstance(method, dict) else method
    if name is None or str(name).lower() in MATH_METHODS:
        return []
    return [f"nbs/_quarto.yml: html-math-method {name!r} shows formulas as plain text; use mathjax (the default) "
            "or katex"]


_GH_PATH = re.compile(r"^https?://(?:github\.com/(?P<a>[^/]+/[^/]+)/(?:blob|tree|edit|raw)/(?P<ab>[^/]+)/"
                      r"|raw\.githubusercontent\.com/(?P<b>[^/]+/[^/]+)/(?P<bb>[^/]+)/"
                      r"|colab\.research\.google\.com/github/(?P<c>[^/]+/[^/]+)/blob/(?P<cb>[^/]+)/)(?P<path>[^?#]*)")
_BINDER = re.compile(r"^https?://mybinder\.org/v2/gh/(?P<slug>[^/]+/[^/]+)/(?P<branch>[^?]+)\?(?:.*&)?"
                     r"(?:labpath|urlpath)=(?:lab/tree/)?(?P<path>[^&#]+)")


def repo_path(site: Site, url: str) -> str | None:
    "The repository path a GitHub/Colab/Binder URL of this project points at (None if it is not one)."
    if not site.repo_slug:
        return None
    m = _GH_PATH.match(url)
    if m:
        slug = m.group("a") or m.group("b") or m.group("c")
        return unquote(m.group("path")).rstrip("/") if slug.lower() == site.repo_slug.lower() else None
    m = _BINDER.match(url)
    if m and m.group("slug").lower() == site.repo_slug.lower():
        return unquote(m.group("path"))
    return None


def _normalize(rel: PurePosixPath) -> str | None:
    out = []
    for part in rel.parts:
        if part == "..":
            if not out:
                return None
            out.pop()
        elif part not in ("", "."):
            out.append(part)
    return "/".join(out)


def link_problem(site: Site, page_rel: str, target: str, ids: dict, kind: str = "link") -> str | None:
    """Why `target`, linked from the page of `page_rel` (relative to nbs), is broken; None if it is fine.
    `ids` maps html page names to the ids Pandoc gave them."""
    target = target.strip()
    if not target:
        return "empty link target" if kind == "image" else None
    if target.startswith(("attachment:", "data:", "mailto:", "javascript:")):
        return None
    page_dir = PurePosixPath(page_rel).parent
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", target):
        rp = repo_path(site, target)
        if rp is not None:
            if rp == "" or (site.root / rp).exists():
                return None
            return f"{target} points at {rp}, which is not in the repository"
        base = site.site_url.rstrip("/")
        if not base or not (target == base or target.startswith((base + "/", base + "#"))):
            return None
        target, page_dir = target[len(base):].lstrip("/") or "index.html", PurePosixPath(".")
    parts = urlsplit(target)
    path, frag = unquote(parts.path), unquote(parts.fragment)
    rel = PurePosixPath(path.lstrip("/")) if path.startswith("/") else page_dir / path
    norm = _normalize(rel) if path else page_rel
    if norm is None:
        return f"{target} points outside nbs/, the site's root: link to the file on GitHub instead"
    if norm == "" or path.endswith("/"):
        norm = (norm + "/" if norm else "") + "index.html"
    page = page_name(norm) if norm.endswith((".ipynb", ".qmd")) else norm
    if norm.endswith(".ipynb") and norm not in site.pages.values():
        return f"{target}: no notebook {norm} in nbs/ that the site renders"
    if page.endswith(".html") and page not in site.pages and not (site.nbs / norm).exists():
        names = [n for n, src in site.pages.items() if PurePosixPath(src).stem == PurePosixPath(norm).stem]
        hint = (f" (the page for {site.pages[names[0]]} is {names[0]}: nbdev drops the number)" if names else
                " (link to the notebook instead, e.g. `02_tokenization.ipynb`: Quarto turns it into the page's name)")
        return f"{target}: no page {norm} on the site{hint}"
    if not page.endswith(".html") and not (site.nbs / norm).exists():
        return f"{target}: no file nbs/{norm}"
    if frag and page in ids and frag not in ids[page]:
        hint = "" if not re.fullmatch(r"[\w.]+", frag) else (
            " (nbdev links a `backticked` name to its reference entry; that page has none for it: add a "
            "`show_doc(...)` cell for it, or write the name without backticks)")
        return f"{target}: no anchor #{frag} on {page}{hint}"
    return None


# ---------------------------------------------------------------------------------------------------------------------
# The book's own lints (on the source notebooks and nbdev's processing of them)

def _hidden_lines(src_nb: dict, min_len: int = 12) -> set[str]:
    "Distinctive lines of the source cells nbdev hides: long enough, and not also in a shown cell."
    hidden, shown = set(), set()
    for c in src_nb.get("cells", []):
        lines = {l.strip() for l in text(c.get("source")).splitlines()}
        if hidden_by_nbdev(c):
            hidden |= {l for l in lines if len(l) >= min_len and not l.startswith("#|")}
        else:
            shown |= lines
    return hidden - shown


def _exported_names(src_nb: dict) -> list[tuple[int, str]]:
    "(cell index, name) of each public function/class an exported cell defines: nbdev gives each a show_doc."
    res = []
    for i, c in enumerate(src_nb.get("cells", [])):
        if c.get("cell_type") != "code":
            continue
        d, body = directives(text(c.get("source")))
        if not ({"export", "exports", "exec_doc"} & d.keys()) or "hide" in d or is_false(d.get("include", "")):
            continue
        try:
            tree = ast.parse("\n".join(body))
        except SyntaxError:
            continue
        res += [(i, n.name) for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and (not n.name.startswith("_") or n.name.startswith("__"))]
    return res


def _runs_in_docs_build(src_nb: dict) -> list[int]:
    """Source cells nbdev runs while building the docs although they are not just imports or exported code: any
    cell with an import statement is run (`exec_show_docs`), without the cells before it, so code there is slow
    at best and fails at worst (a NameError on a variable an earlier cell made)."""
    res = []
    harmless = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for i, c in enumerate(src_nb.get("cells", [])):
        if c.get("cell_type") != "code":
            continue
        d, body = directives(text(c.get("source")))
        if {"export", "exports", "exporti", "exec_doc"} & d.keys() or is_false(d.get("eval", "")):
            continue
        src = "\n".join(body)
        if not src.strip() or src.lstrip()[:1] in "%!":
            continue
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree)) and \
                any(not isinstance(n, harmless) for n in tree.body):
            res.append(i)
    return res


def _check_cells(site: Site, rel: str, nb: dict, src: dict, max_output_lines: int, launch_links: bool) -> list[str]:
    "Lints on the cells of one processed notebook (`src`: its source notebook)."
    problems, shown_docs, has_launch = [], set(), False
    hidden = _hidden_lines(src)
    for i, c in enumerate(nb.get("cells", [])):
        source = text(c.get("source"))
        first = next((l.strip() for l in source.splitlines() if l.strip() and not l.lstrip().startswith("#|")), "")
        at = f"cell {i} ({first[:40]!r})"
        has_launch |= c.get("metadata", {}).get("picaboo") == LAUNCH_MARK
        if isinstance(c.get("source"), str) and "\n" in c["source"].rstrip("\n"):
            problems.append(f"{at}: its source is one string, not a list of lines: Quarto drops its line ends")
        if c.get("cell_type") != "code":
            continue
        d, body = directives(source)
        leaked = d.keys() & NBDEV_HIDING
        if leaked:
            problems.append(f"{at}: a cell marked `#| {min(leaked)}` is on the page")
        for line in body:
            if re.match(r"^\s*#\s*\|", line):
                problems.append(f"{at}: directive {line.strip()!r} after the first line of code: nbdev and Quarto read "
                                f"`#|` lines only at the top of a cell, so it shows on the page and does nothing")
        if not (is_false(d.get("echo", "")) or is_false(d.get("include", ""))):
            leak = next((l.strip() for l in body if l.strip() in hidden), None)
            if leak:
                problems.append(f"{at}: shows {leak[:60]!r} from a hidden cell")
        if re.match(r"^\s*show_doc\(", "\n".join(body)):
            md = [t for k, t in output_texts(c) if k == "text/markdown" and t.strip()]
            if not md or d.get("output") != "asis":
                problems.append(f"{at}: `{' '.join(body).strip()}` did not become markdown (no text/markdown output)")
            for t in md:
                m = re.search(r"^#+\s+(\S+)", t, re.MULTILINE)
                if m:
                    shown_docs.add(m.group(1).replace("\\_", "_"))
        for k, t in output_texts(c):
            if k == "error":
                problems.append(f"{at}: a saved error output (traceback); rerun the notebook and save it clean")
            if k in ("stream", "text/plain") and len(t.splitlines()) > max_output_lines + 1:
                problems.append(f"{at}: an output of {len(t.splitlines())} lines (over {max_output_lines}); "
                                "it was not trimmed")
    for i, name in _exported_names(src):
        if name not in shown_docs and not any(s.split(".")[-1] == name for s in shown_docs):
            problems.append(f"no reference entry (show_doc) for `{name}`, exported in source cell {i}")
    if launch_links and rel != site.readme_nb and not has_launch:
        problems.append("no launch links (Colab / JupyterLab) at the top of the page")
    return problems


def check_processed(site: Site, proc: Path, htmls: dict, max_output_lines: int = 40, max_nb_mb: float = 2.0,
                    launch_links: bool = True) -> list[str]:
    """Problems with the notebooks nbdev processed into `proc`, and with the HTML Pandoc made of them (`htmls`:
    rel -> html; the API page as 'api.qmd')."""
    problems, rels = [], source_notebooks(site.nbs)
    site.pages = {page_name(r): r for r in rels}
    written = [q for q in ("api.qmd",) if (proc / q).exists()]
    for extra in written + [q.relative_to(site.nbs).as_posix() for q in sorted(site.nbs.rglob("*.[mq]md"))]:
        if not any(part[0] in "_." for part in PurePosixPath(extra).parts):
            site.pages.setdefault(page_name(extra), extra)
    dupes = {}
    for r in rels:
        dupes.setdefault(page_name(r), []).append(r)
    problems += [f"{', '.join(s)}: all become the page {n} (nbdev drops the number prefix)"
                 for n, s in dupes.items() if len(s) > 1]
    pages = {r: Page(h) for r, h in htmls.items()}
    ids = {page_name(r): p.ids for r, p in pages.items()}
    markdown = {r: markdown_text(read_nb(proc / r)) for r in pages if (proc / r).exists() and r.endswith(".ipynb")}
    markdown.update({r: (proc / r).read_text(encoding="utf-8") for r in pages if r.endswith(".qmd") and
                     (proc / r).exists()})
    width = None if site_wraps_code(site.nbs) else CODE_WIDTH
    for rel in rels:
        where = f"nbs/{rel}"
        mb = (site.nbs / rel).stat().st_size / 2**20
        if mb > max_nb_mb:
            problems.append(f"{where}: {mb:.1f} MB; keep notebooks under {max_nb_mb:g} MB (smaller figures, "
                            "fewer outputs)")
        src = read_nb(site.nbs / rel)
        problems += [f"{where}: source cell {i} mixes imports with other code: nbdev runs every cell that imports "
                     f"something when it builds the docs (alone, without the cells before it); put the imports in "
                     f"their own cell" for i in _runs_in_docs_build(src)]
        if not (proc / rel).exists():
            problems.append(f"{where}: not processed (no _proc/{rel}); see the error above")
            continue
        nb = read_nb(proc / rel)
        fm = frontmatter(nb)
        if not str(fm.get("title") or "").strip():
            problems.append(f"{where}: no title: open the notebook with a markdown cell `# Title` then "
                            "`> one-line description`")
        elif not str(fm.get("description") or "").strip():
            problems.append(f"{where}: no description: put `> one-line description` right under the "
                            f"`# {fm['title']}` title")
        problems += [f"{where}: {p}" for p in _check_cells(site, rel, nb, src, max_output_lines, launch_links)]
    for rel, page in pages.items():
        where = f"nbs/{rel}" if rel.endswith(".ipynb") else f"_proc/{rel}"
        problems += [f"{where}: {p}" for p in check_html(page, width)]
        if rel in markdown:
            problems += [f"{where}: {p}" for p in check_math(page, markdown[rel])]
        for kind, target in page.refs:
            why = link_problem(site, rel, target, ids, kind)
            if why:
                problems.append(f"{where}: broken {kind} {why}")
    if site.readme_nb in pages:
        problems += check_home_lists_chapters(site, rels, pages[site.readme_nb])
    problems += check_sidebar(site.nbs)
    return problems


def check_home_lists_chapters(site: Site, rels: list[str], home: Page) -> list[str]:
    "The home page (readme_nb) links to every chapter: its chapter list is the book's table of contents."
    base, linked = site.site_url.rstrip("/"), set()
    for _, target in home.refs:
        path = target[len(base) + 1:] if base and target.startswith(base + "/") else unquote(urlsplit(target).path)
        linked.add(path if path.endswith(".ipynb") else page_name(path) if path.endswith(".html") else path)
    return [f"nbs/{site.readme_nb}: the chapter list does not link to {r}" for r in rels
            if r != site.readme_nb and r not in linked and page_name(r) not in linked]


def check_site_config(nbs: Path) -> list[str]:
    "nbs/_quarto.yml has what the book's site needs: sidebar + nbdev metadata, search, light/dark theme, styles."
    p = nbs / "_quarto.yml"
    if not p.exists():
        return ["nbs/_quarto.yml: missing"]
    try:
        cfg = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        return [f"nbs/_quarto.yml: not valid YAML: {e}"]
    problems = [f"nbs/_quarto.yml: metadata-files should include {f}" for f in ("nbdev.yml", "sidebar.yml")
                if f not in (cfg.get("metadata-files") or [])]
    html = ((cfg.get("format") or {}).get("html") or {})
    theme = html.get("theme")
    if not (isinstance(theme, dict) and theme.get("light") and theme.get("dark")):
        problems.append("nbs/_quarto.yml: format.html.theme should have light and dark themes")
    for css in ([html["css"]] if isinstance(html.get("css"), str) else html.get("css") or []):
        if not (nbs / css).exists():
            problems.append(f"nbs/_quarto.yml: css {css} is not in nbs/")
    problems += check_math_method(nbs)
    web = cfg.get("website") or {}
    if not (web.get("search") or (web.get("navbar") or {}).get("search")):
        problems.append("nbs/_quarto.yml: website search is off")
    return problems


# ---------------------------------------------------------------------------------------------------------------------
# Checks on the site Quarto rendered (`_docs/`)

def link_checker(docs: Path) -> list[str] | None:
    "The command of a maintained link checker for the local site (lychee, else linkchecker); None if neither is here."
    pages = sorted(str(p) for p in docs.rglob("*.html") if "site_libs" not in p.parts)
    if shutil.which("lychee"):
        return ["lychee", "--offline", "--include-fragments", "--no-progress", *pages]
    if shutil.which("linkchecker"):
        return ["linkchecker", "--no-status", "--no-warnings", "--check-extern", "--ignore-url=^(?!file:)",
                (docs / "index.html").resolve().as_uri()]
    return None


def check_rendered(site: Site, docs: Path, launch_links: bool = True, out=print) -> list[str]:
    """Problems with the site Quarto rendered into `docs` (`site.pages` filled by check_processed): every page there,
    the same page checks as on Pandoc's HTML (MathJax loaded where there are formulas), the formulas in the markdown
    copies Quarto wrote, and links by a maintained link checker where one is installed."""
    problems = []
    width = None if site_wraps_code(site.nbs) else CODE_WIDTH
    for name, src in sorted(site.pages.items()):
        if not (docs / name).exists():
            problems.append(f"_docs/{name}: missing (the page for {src})")
            continue
        page = Page((docs / name).read_text(encoding="utf-8", errors="replace"))
        problems += [f"_docs/{name}: {p}" for p in check_html(page, width)]
        if launch_links and src.endswith(".ipynb") and src != site.readme_nb and \
                not any("colab.research.google.com" in r for _, r in page.refs):
            problems.append(f"_docs/{name}: no 'Open in Colab' link")
    if not (docs / "search.json").exists():
        problems.append("_docs/search.json: missing, so the site search finds nothing")
    problems += check_written_copies(site, docs, out=out)
    cmd = link_checker(docs)
    if cmd is None:
        out("Link check of the rendered site skipped: neither lychee nor linkchecker is installed.")
        return problems
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        problems.append(f"{cmd[0]} found broken links in _docs/:\n{(r.stdout + r.stderr).strip()[-4000:]}")
    return problems
