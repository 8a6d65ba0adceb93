"""Build the picaboo website and check it: `python tools/docs.py` (what `make docs` runs).

Where `quarto` is on PATH, this does what `nbdev-docs` does (nbdev's preprocessing, then Quarto's render into
`_docs/`) and checks the rendered site. Where it is not (Quarto cannot be installed on every machine; see
../shared/QUARTO.md), it runs nbdev's preprocessing alone, without `nbdev-docs`' attempt to download Quarto,
renders each processed notebook with a real Pandoc (pypandoc-binary) and checks that HTML, and says on one line
that the Quarto render was skipped.

Steps, in order:
1. nbdev's preprocessing: `refresh_quarto_yml` (writes nbs/nbdev.yml; keeps our nbs/_quarto.yml), `_build_modidx`,
   and the same per-notebook processing as nbdev's `proc_nbs` into `_proc/` (frontmatter from `# Title` +
   `> description`, directives stripped, hidden cells removed, `show_doc` reference entries added and executed),
   one notebook per task so every failing notebook is named. nbs/sidebar.yml is ours: the book's two parts with
   numbered chapters, from the notebooks' file names and titles (tools/docs_checks.py: write_sidebar).
2. The processing nbdev has no option for (docs_checks.annotate_processed): every cell's text as a list of lines,
   progress bars and warnings out of outputs, long outputs trimmed to --max-output-lines, `__main__.` out of
   signatures, an "Open in Colab / Launch in JupyterLab / GitHub" line under each chapter's title; then nbdev's
   automatic links to reference entries that do not exist dropped (printed as notes), and `_proc/api.qmd`, the API
   reference page, written from each module's `__all__`.
3. Checks: each processed page rendered by Pandoc and checked (docs_checks.check_processed, check_site_config),
   its formulas included (as MathJax math elements with the author's TeX); and the formulas of each page in the
   markdown copies the site writes, keep-md's `.html.md` and the `commonmark` format (check_markdown_copies).
4. With Quarto: nbdev's render (`render_quarto`, as `nbdev-docs` does), then checks on `_docs/` (check_rendered,
   with lychee or linkchecker where installed).

Exit status 0 when everything passed, 1 with the list of problems otherwise, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import docs_checks as dc  # noqa: E402

SKIP_LINE = (
    "Quarto render skipped: quarto is not installed ({why}); checked nbdev's processed notebooks in _proc/ instead."
)


def _config(root: Path | None):
    from nbdev.config import get_config

    cfg = get_config(str(root) if root else None)
    if cfg.config_file is None or not Path(cfg.config_file).exists():
        raise SystemExit(f"tools/docs.py: no pyproject.toml with [tool.nbdev] at or above {root or Path.cwd()}")
    return cfg


def _site(cfg) -> dc.Site:
    site_url = (cfg.get("doc_host") or "").rstrip("/") + (cfg.get("doc_baseurl") or "")
    return dc.Site(
        root=Path(cfg.config_path),
        nbs=Path(cfg.nbs_path),
        site_url=site_url.rstrip("/"),
        git_url=cfg.get("git_url") or "",
        branch=cfg.get("branch") or "main",
        readme_nb=cfg.get("readme_nb") or "index.ipynb",
    )


def preprocess(cfg, n_workers: int = 2, force: bool = False) -> tuple[Path, list[str]]:
    """nbdev's docs preprocessing without Quarto: what `nbdev_proc_nbs` does, minus `_ensure_quarto`.
    Returns the `_proc` folder and the notebooks that failed (with nbdev's error)."""
    import nbdev.doclinks
    from nbdev import serve, serve_drv
    from nbdev.doclinks import nbglob
    from nbdev.quarto import refresh_quarto_yml
    from nbdev.serve import _proc_file, _rm_stale

    os.chdir(cfg.config_path)  # nbdev's processors call get_config() with no path, as in nbdev's own _pre_docs
    refresh_quarto_yml()
    nbdev.doclinks._build_modidx()
    nbs = Path(cfg.nbs_path)
    dc.write_sidebar(nbs)

    # The staging of nbdev.serve.proc_nbs (same files, same cache rules), run one notebook per task.
    cache = Path(cfg.config_path) / "_proc"
    files = nbglob(nbs, func=Path, file_glob="", file_re="")
    for extra in ("_quarto.yml", "_brand.yml"):
        if (nbs / extra).exists():
            files.append(nbs / extra)
    files.extend(nbglob(nbs, func=Path, file_glob="_metadata.y*ml", skip_file_re="^[.]"))
    if (nbs / "_extensions").exists():
        files.extend(nbglob(nbs / "_extensions", func=Path, file_glob="", file_re="", skip_file_re="^[.]"))
    chk = max(
        Path(cfg.config_file).stat().st_mtime,
        Path(serve.__file__).stat().st_mtime,
        Path(__file__).stat().st_mtime,
        Path(dc.__file__).stat().st_mtime,
    )
    if cache.exists() and (force or cache.stat().st_mtime < chk):
        shutil.rmtree(cache)
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "_quarto.yml").unlink(missing_ok=True)
    _rm_stale(cache, nbs)
    jobs = [j for j in (_proc_file(Path(f), cache, nbs) for f in files) if j]

    # tools/docs_checks.py reports these cells itself (with the fix); nbdev's warning would say it twice
    quiet = "ignore:Found cells containing imports and other code:UserWarning"
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), quiet]))
    import warnings

    warnings.filterwarnings("ignore", message="Found cells containing imports and other code", category=UserWarning)

    failed = []

    def _failed(job, e):
        failed.append(
            f"nbs/{Path(job[0]).relative_to(nbs).as_posix()}: nbdev could not process it: "
            f"{type(e).__name__}: {str(e).strip()[:2000]}"
        )
        Path(job[1]).unlink(missing_ok=True)

    if n_workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            try:
                serve_drv.main(job)
            except Exception as e:  # noqa: BLE001 (reported, not hidden)
                _failed(job, e)
            finally:
                os.environ.pop("IN_TEST", None)
    else:
        with ProcessPoolExecutor(min(n_workers, len(jobs)), mp_context=get_context("spawn")) as ex:
            futures = [(job, ex.submit(serve_drv.main, job)) for job in jobs]
            for job, fut in futures:
                e = fut.exception()
                if e is not None:
                    _failed(job, e)
    cache.touch()
    return cache, failed


def render(cfg, n_workers: int) -> None:
    "Quarto's render of `_proc` into `_docs`, exactly as `nbdev-docs` does after its preprocessing."
    from nbdev.quarto import _fix_quarto_nav
    from nbdev.quarto_render import render_quarto

    cache = Path(cfg.config_path) / "_proc"
    doc_path = Path(cfg.doc_path)
    render_quarto(cache, cache / doc_path.name, n_workers=n_workers)
    shutil.rmtree(doc_path, ignore_errors=True)
    shutil.move(str(cache / doc_path.name), str(doc_path))
    _fix_quarto_nav(doc_path)


def build_and_check(
    root: Path | None = None,
    *,
    quarto: str | None = "auto",
    n_workers: int = 2,
    force: bool = False,
    max_output_lines: int = 40,
    max_nb_mb: float = 2.0,
    launch_links: bool = True,
    skip_line: str | None = None,
    out=print,
) -> list[str]:
    """Run the docs build; returns the problems found (empty when all is well). `quarto`: "auto" (use it if on
    PATH), a path, or None (do not render; print `skip_line`, by default the "quarto is not installed" line)."""
    cfg = _config(root)
    site = _site(cfg)
    if quarto == "auto":
        quarto = shutil.which("quarto")
    t0 = time.time()
    proc, problems = preprocess(cfg, n_workers=n_workers, force=force)
    counts = dc.annotate_processed(site, proc, max_output_lines=max_output_lines, launch_links=launch_links)
    rels = dc.source_notebooks(site.nbs)
    htmls, failed = dc.render_pages(site, proc, rels, n_workers=n_workers)
    ids = {dc.page_name(r): dc.Page(h).ids for r, h in htmls.items()}
    notes, changed = dc.unlink_missing_refs(site, proc, ids)
    htmls.update(dc.render_pages(site, proc, changed, n_workers=n_workers)[0])
    dc.write_api_page(site, proc, cfg.lib_path.name, ids)
    htmls["api.qmd"] = dc.markdown_html((proc / "api.qmd").read_text(encoding="utf-8"))
    problems += failed + dc.check_site_config(site.nbs)
    problems += dc.check_processed(
        site, proc, htmls, max_output_lines=max_output_lines, max_nb_mb=max_nb_mb, launch_links=launch_links
    )
    problems += dc.check_markdown_copies(site, proc, rels, n_workers=n_workers)
    out(
        f"Processed {len(rels)} notebooks into _proc/ and checked Pandoc's HTML of them in {time.time() - t0:.1f} s "
        f"({counts['trimmed']} long outputs trimmed, launch links on {counts['launch']} pages)."
    )
    for note in notes:
        out(f"note: {note}")
    if not quarto:
        out(skip_line or SKIP_LINE.format(why="no `quarto` on PATH"))
        return problems
    if problems:
        out("Quarto render not attempted: fix the problems in the processed notebooks first.")
        return problems
    t1 = time.time()
    try:
        render(cfg, n_workers=n_workers)
    except Exception as e:  # noqa: BLE001 (Quarto's own message is the useful part)
        return [f"quarto render failed: {e}"]
    problems += dc.check_rendered(site, Path(cfg.doc_path), launch_links=launch_links, out=out)
    out(f"Rendered the site into {Path(cfg.doc_path).name}/ with Quarto in {time.time() - t1:.1f} s and checked it.")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tools/docs.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, default=None, help="project root (default: found from the current folder)")
    p.add_argument("--no-render", action="store_true", help="skip Quarto even where it is installed")
    p.add_argument("--require-quarto", action="store_true", help="fail when Quarto is missing (the deploy workflow)")
    p.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("PICABOO_DOCS_WORKERS", "2")),
        help="notebooks processed at once (default 2; 1 = in this process)",
    )
    p.add_argument("--force", action="store_true", help="reprocess every notebook (ignore _proc/'s cache)")
    p.add_argument("--max-output-lines", type=int, default=40, help="trim longer text outputs on the site (default 40)")
    p.add_argument("--max-notebook-mb", type=float, default=2.0, help="largest notebook file allowed (default 2 MB)")
    a = p.parse_args(argv)
    quarto = shutil.which("quarto")
    if a.require_quarto and not quarto:
        print(
            "tools/docs.py: --require-quarto, but no `quarto` on PATH "
            "(install it: https://quarto.org/docs/get-started/)",
            file=sys.stderr,
        )
        return 2
    skip = "Quarto render skipped: --no-render." if a.no_render and quarto else None
    problems = build_and_check(
        a.root,
        quarto=None if a.no_render else quarto,
        n_workers=a.workers,
        force=a.force,
        max_output_lines=a.max_output_lines,
        max_nb_mb=a.max_notebook_mb,
        skip_line=skip,
    )
    if problems:
        print(f"\n{len(problems)} problem(s) with the website:", file=sys.stderr)
        for pr in problems:
            print(f"  - {pr}", file=sys.stderr)
        return 1
    print("Docs checks passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
