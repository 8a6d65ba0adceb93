"""tools/docs.py, the website build and its checks, on a small synthetic nbdev project (not the book's chapters)."""
import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import docs_checks as dc  # noqa: E402

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")

PYPROJECT = """\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "synth"
version = "0.0.1"
description = "A synthetic book for testing the docs tooling."

[project.urls]
Repository = "https://github.com/example/synth"
Documentation = "https://example.github.io/synth/"

[tool.nbdev]
title = "synth"
lib_path = "synth"
nbs_path = "nbs"
doc_path = "_docs"
recursive = true
readme_nb = "index.ipynb"
jupyter_hooks = false
custom_sidebar = false
"""


def md(src): return {"cell_type": "markdown", "metadata": {}, "source": src}


def code(src, outputs=()):
    return {"cell_type": "code", "metadata": {}, "execution_count": None, "source": src, "outputs": list(outputs)}


def stream(txt): return {"output_type": "stream", "name": "stdout", "text": txt}


def write_nb(path, cells):
    nb = {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


def make_project(tmp_path):
    "A two-notebook nbdev project that passes every check."
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "synth").mkdir()
    (tmp_path / "synth" / "__init__.py").write_text('__version__ = "0.0.1"\n')
    nbs = tmp_path / "nbs"
    (nbs / "images").mkdir(parents=True)
    (nbs / "images" / "dot.png").write_bytes(PNG)
    for f in ("_quarto.yml", "styles.css"): shutil.copy(ROOT / "nbs" / f, nbs / f)
    write_nb(nbs / "index.ipynb", [
        md("# synth\n\n> A synthetic book."),
        md("Start with [the good chapter](00_good.ipynb), or its [adder](good.html#add)."),
    ])
    write_nb(nbs / "00_good.ipynb", [
        md("# A good chapter\n\n> Everything a chapter page needs."),
        code("#| default_exp good"),
        md("## Adding\n\nWe add numbers with `add`; see [the home page](index.ipynb) and [below](#what-we-built)."),
        code("#| export\ndef add(a:int, # the first number\n        b:int, # the second number\n       ) -> int:\n"
             "    \"Add two numbers.\"\n    return a + b"),
        code("#| hide\nsecret_value_nobody_should_see = 42"),
        code("print(add(1, 2))", [stream("3\n")]),
        code("for i in range(100): print(i)", [stream("".join(f"{i}\n" for i in range(100)))]),
        md("![a dot](images/dot.png)"),
        md("## What we built\n\n- `add`"),
    ])
    return tmp_path


def run_docs(root, *args):
    return subprocess.run([sys.executable, str(ROOT / "tools" / "docs.py"), *args], cwd=root, capture_output=True,
                          text=True, timeout=120, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})


NO_QUARTO = shutil.which("quarto") is None


@pytest.mark.skipif(not NO_QUARTO, reason="checks the no-Quarto path; quarto is installed here")
def test_good_project_passes(tmp_path):
    root = make_project(tmp_path)
    r = run_docs(root, "--workers", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Quarto render skipped: quarto is not installed" in r.stdout
    assert "Docs checks passed." in r.stdout
    proc = json.loads((root / "_proc" / "00_good.ipynb").read_text())
    assert dc.frontmatter(proc)["title"] == "A good chapter"
    everything = json.dumps(proc)
    assert "secret_value_nobody_should_see" not in everything and "#| export" not in everything
    assert "colab.research.google.com/github/example/synth/blob/main/nbs/00_good.ipynb" in everything
    assert dc.TRIM_MARK in everything                                 # the 100-line output was trimmed
    assert any("### add" in t for c in proc["cells"] for k, t in dc.output_texts(c))  # show_doc became markdown
    assert (root / "nbs" / "sidebar.yml").read_text().index("index.ipynb") < (root / "nbs" / "sidebar.yml").read_text().index("00_good")
    again = run_docs(root, "--workers", "1")                         # cached and idempotent
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.skipif(not NO_QUARTO, reason="checks the no-Quarto path; quarto is installed here")
def test_bad_notebooks_fail_with_clear_messages(tmp_path):
    root = make_project(tmp_path)
    nbs = root / "nbs"
    write_nb(nbs / "01_leak.ipynb", [md("# Leaky\n\n> A directive too late."),
                                      code("x = 1\n#| export\ndef f(): return x")])
    write_nb(nbs / "02_noimage.ipynb", [md("# No image\n\n> A picture that is not there."),
                                         md("![missing](images/missing.png)")])
    write_nb(nbs / "03_badlink.ipynb", [md("# Bad links\n\n> Links to nowhere."),
                                         md("See [the next chapter](09_nothere.ipynb), [a section](00_good.ipynb#nope) "
                                            "and [the old name](00_good.html).")])
    write_nb(nbs / "04_notitle.ipynb", [md("Just some text, no title."), code("y = 2")])
    write_nb(nbs / "05_nodesc.ipynb", [md("# No description"), code("z = 3")])
    r = run_docs(root, "--workers", "1")
    err = r.stderr
    assert r.returncode == 1, r.stdout + err
    assert "nbs/01_leak.ipynb: cell" in err and "directive '#| export' after the first line of code" in err
    assert "nbs/02_noimage.ipynb: cell" in err and "broken image images/missing.png: no file nbs/images/missing.png" in err
    assert "broken link 09_nothere.ipynb: no notebook 09_nothere.ipynb" in err
    assert "broken link 00_good.ipynb#nope: no anchor #nope on good.html" in err
    assert "broken link 00_good.html: no page 00_good.html on the site (the page for 00_good.ipynb is good.html" in err
    assert "nbs/04_notitle.ipynb: no title: open the notebook with a markdown cell `# Title`" in err
    assert "nbs/05_nodesc.ipynb: no description" in err
    assert "nbs/index.ipynb: the chapter list does not link to 02_noimage.ipynb" in err
    assert "nbs/00_good.ipynb" not in err
    assert all("the chapter list" in l for l in err.splitlines() if "nbs/index.ipynb" in l)


@pytest.mark.skipif(not NO_QUARTO, reason="only meaningful without quarto")
def test_require_quarto_fails_without_quarto(tmp_path):
    r = run_docs(make_project(tmp_path), "--require-quarto")
    assert r.returncode == 2 and "no `quarto` on PATH" in r.stderr


def test_heading_ids_follow_pandoc():
    assert dc.heading_id("Attention, step 1") == "attention-step-1"
    assert dc.heading_id("`build_parser`") == "build_parser"
    assert dc.heading_id("Tokenizer.encode") == "tokenizer.encode"
    assert dc.heading_id("2. Why [links](x.html) *matter*") == "why-links-matter"
    assert dc.heading_id("What we built {#built .unnumbered}") == "what-we-built"
    a = dc.Anchors()
    a.add_markdown("## Intro\n\n```\n## not a heading\n```\n## Intro\n<a id='here'></a>\n### Sub {#custom}")
    assert a.ids == {"intro", "intro-1", "here", "custom"}


def test_md_links_skip_code():
    got = dc.md_links("[a](x.ipynb) `[b](y.ipynb)` ![c](img.png)\n```\n[d](z.html)\n```\n<img src='p.png'> [![e](f.png)](g.html)")
    assert ("link", "x.ipynb") in got and ("image", "img.png") in got and ("image", "p.png") in got
    assert ("image", "f.png") in got and ("link", "g.html") in got
    assert not any(t in ("y.ipynb", "z.html") for _, t in got)


def test_trim_lines():
    t = "".join(f"line {i}\n" for i in range(100))
    out = dc.trim_lines(t, 40)
    assert len(out.splitlines()) == 41 and out.startswith("line 0\n") and out.endswith("line 99\n")
    assert "60 more lines trimmed" in out
    assert dc.trim_lines("short\n", 40) == "short\n"


def test_github_links_resolve_to_repository_files(tmp_path):
    (tmp_path / "synth").mkdir()
    (tmp_path / "synth" / "core.py").write_text("")
    site = dc.Site(root=tmp_path, nbs=tmp_path / "nbs", site_url="https://example.github.io/synth",
                   git_url="https://github.com/example/synth", pages={"good.html": "00_good.ipynb"})
    assert dc.resolve_link(site, "00_good.ipynb", "https://github.com/example/synth/blob/main/synth/core.py#L3", {}) is None
    assert "not in the repository" in dc.resolve_link(site, "00_good.ipynb", "https://github.com/example/synth/blob/main/synth/gone.py", {})
    assert dc.resolve_link(site, "00_good.ipynb", "https://github.com/someone/else/blob/main/x.py", {}) is None
    assert "points outside nbs/" in dc.resolve_link(site, "00_good.ipynb", "../README.md", {})
    anchors = {"good.html": dc.Anchors()}
    anchors["good.html"].ids.add("add")
    assert dc.resolve_link(site, "index.ipynb", "https://example.github.io/synth/good.html#add", anchors) is None
    assert "show_doc" in dc.resolve_link(site, "index.ipynb", "https://example.github.io/synth/good.html#mul", anchors)


QUARTO_PAGE = """<!DOCTYPE html><html><head><title>{title} – synth</title>
<script src="site_libs/quarto-nav/quarto-nav.js"></script></head><body>
<nav id="quarto-sidebar" class="sidebar collapse sidebar-navigation floating overflow-auto">
<a href="./">synth</a><a href="" class="quarto-reader-toggle"></a>
<ul><li class="sidebar-item"><a href="./index.html" class="sidebar-item-text sidebar-link"><span class="menu-text">synth</span></a></li>
<li class="sidebar-item"><a href="./good.html" class="sidebar-item-text sidebar-link"><span class="menu-text">{sidebar}</span></a></li></ul>
</nav>
<main class="content" id="quarto-document-content">
<section id="adding" class="level2"><h2 class="anchored">Adding</h2>
<div class="launch-links"><p><a href="https://colab.research.google.com/github/example/synth/blob/main/nbs/00_good.ipynb">Open in Colab</a></p></div>
<div class="cell"><div class="sourceCode cell-code" id="cb1"><pre class="sourceCode python code-with-copy"><code class="sourceCode python"><span id="cb1-1"><a href="#cb1-1" aria-hidden="true" tabindex="-1"></a>{code}</span></code></pre></div></div>
<div class="cell-output cell-output-markdown"><div class="sourceCode" id="cb2"><pre class="sourceCode python"><code class="sourceCode python">def add(
    b:int, # the second number
)-&gt;int:</code></pre></div></div>
<p><img src="{img}"> <a href="good.html#adding">here</a> <a href="#{frag}">there</a></p>
</section></main></body></html>"""


def _rendered_site(tmp_path, shown="print(add(1, 2))", img="images/dot.png", frag="adding", sidebar="A good chapter"):
    root = tmp_path
    nbs, docs = root / "nbs", root / "_docs"
    (docs / "images").mkdir(parents=True)
    (docs / "site_libs" / "quarto-nav").mkdir(parents=True)
    (docs / "site_libs" / "quarto-nav" / "quarto-nav.js").write_text("")
    (docs / "images" / "dot.png").write_bytes(PNG)
    (docs / "search.json").write_text("[]")
    nbs.mkdir()
    write_nb(nbs / "index.ipynb", [md("# synth\n\n> A synthetic book.")])
    write_nb(nbs / "00_good.ipynb", [md("# A good chapter\n\n> desc"), code("#| hide\nsecret_value_nobody_should_see = 42"),
                                     code("#| export\ndef add(a:int, # the first number\n        b:int, # the second number\n"
                                          "       ) -> int: return a + b")])  # its signature shows in show_doc's block
    for name, title in (("index.html", "synth"), ("good.html", "A good chapter")):
        (docs / name).write_text(QUARTO_PAGE.format(title=title, code=shown, img=img, frag=frag, sidebar=sidebar))
    site = dc.Site(root=root, nbs=nbs, site_url="https://example.github.io/synth", git_url="https://github.com/example/synth",
                   pages={"index.html": "index.ipynb", "good.html": "00_good.ipynb"})
    return site, docs, {"index.ipynb": "synth", "00_good.ipynb": "A good chapter"}


def test_rendered_site_passes(tmp_path):
    site, docs, titles = _rendered_site(tmp_path)
    assert dc.check_rendered(site, docs, titles) == []


def test_rendered_site_problems(tmp_path):
    site, docs, titles = _rendered_site(tmp_path, shown="#| export\nsecret_value_nobody_should_see = 42",
                                        img="images/gone.png", frag="nowhere", sidebar="00_good")
    probs = "\n".join(dc.check_rendered(site, docs, titles))
    assert "_docs/good.html: directive text on the page: '#| export'" in probs
    assert "shows 'secret_value_nobody_should_see = 42' from a hidden cell" in probs
    assert "broken image images/gone.png: no file _docs/images/gone.png" in probs
    assert "broken link #nowhere: no anchor #nowhere on good.html" in probs
    assert "the sidebar shows '00_good' for good.html, not its title 'A good chapter'" in probs
    (docs / "good.html").unlink()
    assert "_docs/good.html: missing" in "\n".join(dc.check_rendered(site, docs, titles))


def test_render_path_with_a_stand_in_for_quarto(tmp_path, monkeypatch):
    "Where Quarto is installed: render (here a stand-in writing Quarto-like pages), move to _docs, check the site."
    import nbdev.quarto_render
    import docs
    root = make_project(tmp_path)
    monkeypatch.chdir(root)

    def fake_render(path, output_dir, n_workers=1):
        output_dir = Path(output_dir)
        (output_dir / "images").mkdir(parents=True)
        (output_dir / "images" / "dot.png").write_bytes(PNG)
        (output_dir / "site_libs" / "quarto-nav").mkdir(parents=True)
        (output_dir / "site_libs" / "quarto-nav" / "quarto-nav.js").write_text("")
        (output_dir / "search.json").write_text("[]")
        for name, title in (("index.html", "synth"), ("good.html", "A good chapter")):
            (output_dir / name).write_text(QUARTO_PAGE.format(title=title, code="print(add(1, 2))", img="images/dot.png",
                                                              frag="adding", sidebar="A good chapter"))
    monkeypatch.setattr(nbdev.quarto_render, "render_quarto", fake_render)
    lines = []
    problems = docs.build_and_check(root, quarto="/stand-in/quarto", n_workers=1, out=lines.append)
    assert problems == [], problems
    assert (root / "_docs" / "good.html").exists() and not (root / "_proc" / "_docs").exists()
    assert any(l.startswith("Rendered the site into _docs/") for l in lines), lines
