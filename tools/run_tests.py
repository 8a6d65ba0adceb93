"""Run the book's tests: every notebook under nbdev-test, then pytest over tests/, and print the totals.

    python tools/run_tests.py                 # everything (what `make test` runs)
    python tools/run_tests.py --nbs 01        # only notebooks whose name contains "01", no pytest
    python tools/run_tests.py --no-nbs        # only pytest

Two cores are easy to oversubscribe, so each notebook runs in its own process with one torch thread, two
notebooks at a time (`--workers`). The last line counts what ran: `total: N passed, N failed, N skipped`.
"""
import argparse, os, subprocess, sys, tempfile, time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ONE_THREAD = dict(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", RAYON_NUM_THREADS="1",
                  TOKENIZERS_PARALLELISM="false", MPLBACKEND="Agg", PYTHONWARNINGS="ignore::DeprecationWarning:jupyter_client")

def notebooks(pattern:str|None) -> list[Path]:
    nbs = sorted(p for p in (ROOT/"nbs").rglob("*.ipynb")
                 if not any(part.startswith(("_", ".")) for part in p.relative_to(ROOT/"nbs").parts))
    return [p for p in nbs if pattern is None or pattern in p.name]

def run_notebook(nb:Path) -> tuple[Path, bool, float, str]:
    start = time.time()
    r = subprocess.run([str(BIN/"nbdev-test"), str(nb)], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, **ONE_THREAD})
    return nb, r.returncode == 0, time.time() - start, (r.stdout + r.stderr).strip()

def run_notebooks(nbs:list[Path], workers:int) -> tuple[int, int]:
    passed = failed = 0
    with ThreadPoolExecutor(workers) as pool:
        for nb, ok, secs, out in pool.map(run_notebook, nbs):
            print(f"{'PASS' if ok else 'FAIL'} {nb.relative_to(ROOT)} ({secs:.0f}s)", flush=True)
            if ok: passed += 1
            else:
                failed += 1
                print("\n".join("    " + l for l in out.splitlines()[-40:]), flush=True)
    print(f"notebooks: {passed} passed, {failed} failed", flush=True)
    return passed, failed

def run_pytest(extra:list[str]) -> tuple[int, int, int]:
    with tempfile.TemporaryDirectory() as d:
        xml = Path(d)/"junit.xml"
        r = subprocess.run([str(BIN/"python"), "-m", "pytest", "tests", "-p", "no:cacheprovider", "-rs",
                            f"--junitxml={xml}", *extra], cwd=ROOT, env={**os.environ, **ONE_THREAD})
        if not xml.exists(): return 0, 1, 0  # pytest could not even start
        suites = ET.parse(xml).getroot()
        suites = [suites] if suites.tag == "testsuite" else list(suites)
        total = sum(int(s.get("tests", 0)) for s in suites)
        bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
        skipped = sum(int(s.get("skipped", 0)) for s in suites)
        if r.returncode not in (0, 1, 5): bad = max(bad, 1)  # interrupted or internal error
        return total - bad - skipped, bad, skipped

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nbs", metavar="PATTERN", help="only notebooks whose file name contains PATTERN (skips pytest)")
    ap.add_argument("--no-nbs", action="store_true", help="skip the notebooks")
    ap.add_argument("--workers", type=int, default=2, help="notebooks run at once (default 2, one per core)")
    ap.add_argument("pytest_args", nargs="*", help="passed on to pytest")
    args = ap.parse_args()
    start, passed, failed, skipped = time.time(), 0, 0, 0
    if not args.no_nbs:
        p, f = run_notebooks(notebooks(args.nbs), args.workers)
        passed, failed = passed + p, failed + f
    if args.nbs is None:
        p, f, s = run_pytest(args.pytest_args)
        print(f"pytest: {p} passed, {f} failed, {s} skipped", flush=True)
        passed, failed, skipped = passed + p, failed + f, skipped + s
    print(f"took {time.time() - start:.0f}s")
    print(f"total: {passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed else 0)

if __name__ == "__main__": main()
