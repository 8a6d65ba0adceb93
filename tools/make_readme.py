"""Write README.md from nbs/index.ipynb without Quarto (nbdev-readme needs Quarto).

    python tools/make_readme.py          # write README.md
    python tools/make_readme.py --check  # exit 1 if README.md is out of date

Markdown cells are copied; code cells marked `#| hide` are dropped, other code cells appear as Python
blocks without their `#|` directive lines; links to notebooks and images are made relative to the
repository root, since README.md sits one folder above the notebooks.
"""
import argparse, re, sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
HEADER = "<!-- Generated from nbs/index.ipynb by `make readme`; edit the notebook, not this file. -->\n\n"

def _relink(md:str) -> str:
    "Point relative links (images, notebooks) at nbs/, where they live."
    return re.sub(r"\]\((?!https?://|#|/)([^)\s]+)\)", r"](nbs/\1)", md)

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
