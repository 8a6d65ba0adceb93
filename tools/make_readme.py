"""Write README.md from nbs/index.ipynb without Quarto (nbdev-readme needs Quarto).

    python tools/make_readme.py          # write README.md
    python tools/make_readme.py --check  # exit 1 if README.md is out of date

Markdown cells are copied; code cells marked `#| hide` are dropped, other code cells appear as Python
blocks without their `#|` directive lines; relative links to notebooks and images become absolute URLs on
GitHub (notebooks: github.com/<repo>/blob/<branch>/nbs/..., images: raw.githubusercontent.com/...), so they
work on GitHub and on PyPI, which shows README.md as the project's description. The repository is
pyproject.toml's `Repository` URL; the branch is [tool.nbdev]'s `branch` (default main).
"""
import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
HEADER = "<!-- Generated from nbs/index.ipynb by `make readme`; edit the notebook, not this file. -->\n\n"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")

def _repo(root:Path=ROOT) -> tuple[str, str]:
    "(owner/name, branch) of the project on GitHub, from pyproject.toml."
    toml = (root/"pyproject.toml").read_text(encoding="utf-8")
    slug = re.search(r'^Repository\s*=\s*"https://github\.com/([^/"]+/[^/"]+?)/?"', toml, re.MULTILINE).group(1)
    branch = re.search(r'^branch\s*=\s*"([^"]+)"', toml, re.MULTILINE)
    return slug, branch.group(1) if branch else "main"

def _absolute(target:str, nbs:str="nbs") -> str:
    "The URL on GitHub of `target`, a path relative to the notebooks folder."
    slug, branch = _repo()
    if target.split("#")[0].lower().endswith(IMAGE_SUFFIXES):
        return f"https://raw.githubusercontent.com/{slug}/{branch}/{nbs}/{target}"
    return f"https://github.com/{slug}/blob/{branch}/{nbs}/{target}"

def _relink(md:str) -> str:
    "Point relative links (images, notebooks) at their files on GitHub, so they resolve on GitHub and on PyPI."
    md = re.sub(r"\]\((?!https?://|#|/|mailto:)([^)\s]+)\)", lambda m: f"]({_absolute(m.group(1))})", md)
    return re.sub(r'(<img\b[^>]*\bsrc=")(?!https?://|/)([^"]+)"', lambda m: f'{m.group(1)}{_absolute(m.group(2))}"', md)

def cell_markdown(cell) -> str|None:
    src = cell.source.strip()
    if cell.cell_type == "markdown": return _relink(src)
    if cell.cell_type != "code": return None
    lines = src.splitlines()
    if any(l.strip().replace(" ", "") in ("#|hide", "#|export", "#|exporti") for l in lines): return None
    code = "\n".join(l for l in lines if not l.lstrip().startswith("#|")).strip()
    return f"```python\n{code}\n```" if code else None

def render_readme(nb_path:Path=ROOT/"nbs"/"index.ipynb") -> str:
    nb = nbformat.read(nb_path, as_version=4)
    parts = [m for m in map(cell_markdown, nb.cells) if m]
    return HEADER + "\n\n".join(parts) + "\n"

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if README.md differs from what the notebook gives")
    args = ap.parse_args()
    text, readme = render_readme(), ROOT/"README.md"
    if args.check:
        if not readme.exists() or readme.read_text(encoding="utf-8") != text:
            sys.exit("README.md is out of date with nbs/index.ipynb: run `make readme` and commit it.")
        print("README.md is in sync with nbs/index.ipynb")
    else:
        readme.write_text(text, encoding="utf-8")
        print(f"wrote {readme.relative_to(ROOT)}")

if __name__ == "__main__": main()
