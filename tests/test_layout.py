"""The book's order is the code's order.

Each module of the package is written by one chapter (the notebook named in its `# %% ../nbs/...` markers);
chapters are ordered by their file names (`01_data` < `01a_readers` < `02_tokenization` < ...). A module may
import only modules of its own or an earlier chapter, at the top or inside a function, and no notebook may
use code that a later chapter builds. With that, import circles between chapters cannot exist; circles
between two modules of one chapter are checked separately.
"""
import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "picaboo"
NBS = ROOT / "nbs"
EXEMPT = {"__init__", "_modidx", "_export_procs"}  # the top-level table, nbdev's index, the export processor


def chapter_of_module() -> dict[str, str]:
    "Module name -> the notebook (file stem) whose cells it holds."
    chapters = {}
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem in EXEMPT:
            continue
        found = set(re.findall(r"^# %% \.\./nbs/([\w-]+)\.ipynb", path.read_text(encoding="utf-8"), re.M))
        assert len(found) == 1, f"{path.name}: expected cells from exactly one notebook, found {sorted(found) or 'none'}"
        chapters[path.stem] = found.pop()
    return chapters


def picaboo_imports(tree:ast.AST, module:str|None=None) -> set[str]:
    "Every picaboo module an AST imports, wherever the import stands (top level or inside a function)."
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level:  # from .x import y / from . import x
                targets = [name] if name else [alias.name for alias in node.names]
            elif name == "picaboo":
                targets = [alias.name for alias in node.names]
            elif name.startswith("picaboo."):
                targets = [name.split(".")[1]]
            else:
                targets = []
            found.update(t.split(".")[0] for t in targets)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("picaboo."))
    return found - {module}


def test_every_module_belongs_to_one_chapter():
    chapters = chapter_of_module()
    assert chapters, "no exported modules found"
    for module, nb in chapters.items():
        assert (NBS / f"{nb}.ipynb").is_file(), f"{module}.py names {nb}.ipynb, which does not exist"


def test_no_module_imports_a_later_chapter():
    chapters = chapter_of_module()
    problems = []
    for module, nb in chapters.items():
        tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
        for target in sorted(picaboo_imports(tree, module)):
            if target in EXEMPT or target == "__version__":
                continue
            if target not in chapters:
                problems.append(f"{module} ({nb}) imports picaboo.{target}, which no chapter exports")
            elif chapters[target] > nb:
                problems.append(f"{module} ({nb}) imports {target} from the later chapter {chapters[target]}")
    assert not problems, "backward imports:\n  " + "\n  ".join(problems)


def test_no_import_circles_inside_a_chapter():
    chapters = chapter_of_module()
    graph = {m: picaboo_imports(ast.parse((PACKAGE / f"{m}.py").read_text(encoding="utf-8")), m) & set(chapters)
             for m in chapters}

    def reaches(start:str, goal:str, seen:set) -> bool:
        for nxt in graph[start]:
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                if reaches(nxt, goal, seen):
                    return True
        return False

    circles = [m for m in graph if reaches(m, m, set())]
    assert not circles, f"modules in an import circle: {circles}"


def notebook_code(nb:Path) -> str:
    "The code cells of a notebook, with IPython's `!` and `%` lines dropped so the text parses."
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    code = ("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    lines = (line for cell in code for line in cell.splitlines())
    return "\n".join(line for line in lines if not line.lstrip().startswith(("!", "%")))


@pytest.mark.parametrize("nb", sorted(p.stem for p in NBS.glob("[0-9]*.ipynb")))
def test_no_notebook_uses_a_later_chapter(nb:str):
    chapters = chapter_of_module()
    tree = ast.parse(notebook_code(NBS / f"{nb}.ipynb"))
    later = sorted(f"{t} ({chapters[t]})" for t in picaboo_imports(tree) if t in chapters and chapters[t] > nb)
    assert not later, f"{nb}.ipynb uses code from later chapters: {later}"


def test_the_checker_sees_a_backward_import():
    "The checks above would catch an import hidden in a function."
    tree = ast.parse("def f():\n    from picaboo.sampling import generate\n    from .chat import chat\n")
    assert picaboo_imports(tree) == {"sampling", "chat"}


def one_line_definitions(tree:ast.AST) -> list[int]:
    "Lines where a def or class keeps its body on the same line (`def f(): return x`), which ruff does not flag."
    nodes = (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))
    return sorted(n.lineno for n in nodes if n.body[0].lineno == n.lineno)


def test_no_one_line_definitions():
    found = [f"{path.name}:{line}" for path in sorted(PACKAGE.glob("*.py")) if path.stem != "_modidx"
             for line in one_line_definitions(ast.parse(path.read_text(encoding="utf-8")))]
    assert not found, f"definitions with their body on the def line: {found}"


def test_the_checker_sees_a_one_line_definition():
    assert one_line_definitions(ast.parse("def f(): return 1\nclass C: pass\ndef g():\n    return 2\n")) == [1, 2]


def test_the_chapter_table_numbers_each_chapter_by_its_file():
    "Every chapter is in the landing page's table, under the number its file name gives it (01a -> 1a)."
    index = json.loads((NBS / "index.ipynb").read_text(encoding="utf-8"))
    text = "".join("".join(c["source"]) for c in index["cells"])
    rows = {nb: label for label, nb in re.findall(r"\[(\d+[a-z]?) [^\]]+\]\((\d\d[a-z]?_\w+)\.ipynb\)", text)}
    chapters = sorted(p.stem for p in NBS.glob("[0-9]*.ipynb"))
    assert sorted(rows) == chapters, f"chapters missing from the table: {sorted(set(chapters) - set(rows))}"
    wrong = {nb: label for nb, label in rows.items() if label != nb.split("_")[0].lstrip("0")}
    assert not wrong, f"rows whose number is not their file's: {wrong}"
