"""Peak memory of encoding and of tokenizer training on ONE big text file, as the file grows.

The embedded corpus is written 1x, 10x, 100x (--sizes) into one .txt; for each size a fresh Python process runs
the command line and reports its own peak resident memory (ru_maxrss):

- encode: `picaboo data encode FILE --tokenizer models --out DIR` (train.bin + val.bin, split at the tail)
- train:  `picaboo tokenizer train FILE --vocab-size 512 --workers 1 --out DIR` (word counts, merges, and the
  token count it prints)

Streaming keeps both flat: the peak should barely move from 1x to 100x, since a copy of the corpus has the same
distinct words. Run it with PYTHONPATH pointing at another checkout to measure that code instead:

    python bench/memory.py                       # about 3 minutes on 2 CPUs
    python bench/memory.py --sizes 1 10          # quicker
    PYTHONPATH=/tmp/old python bench/memory.py --sizes 1 10   # an older picaboo, for "before" figures
"""
import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """import resource, sys
import picaboo
print("PICABOO", picaboo.__file__)
from picaboo.cli import main
code = main(sys.argv[1:])
usage = resource.getrusage(resource.RUSAGE_SELF)
print("PEAK_KB", usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
sys.exit(code)"""


def peak_of(argv:list[str], picaboo_dir:Path) -> tuple[float, float, float]:
    "(peak resident MB, wall s, CPU s) of a fresh Python process running `picaboo ARGV` (from `picaboo_dir`)."
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    t0 = time.perf_counter()
    # run outside the checkout: `-c` puts the current folder first on sys.path, before PYTHONPATH
    result = subprocess.run([sys.executable, "-c", CHILD, *argv], capture_output=True, text=True, env=env,
                            cwd=tempfile.gettempdir())
    seconds = time.perf_counter() - t0
    if result.returncode != 0:
        raise RuntimeError(f"picaboo {' '.join(argv)} failed: {result.stderr.strip().splitlines()[-1:]}")
    assert any(line.startswith(f"PICABOO {picaboo_dir}") for line in result.stdout.splitlines()), result.stdout[:200]
    kb, cpu = next(line.split()[1:] for line in result.stdout.splitlines() if line.startswith("PEAK_KB"))
    return int(kb) / 1024, seconds, float(cpu)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100], help="copies of the corpus in the file")
    parser.add_argument("--tasks", nargs="+", choices=["encode", "train"], default=["encode", "train"])
    args = parser.parse_args()
    from picaboo.data import load_default_corpus
    import picaboo
    corpus = load_default_corpus().encode("utf-8")
    print(f"picaboo memory benchmark, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"picaboo from {Path(picaboo.__file__).parent} (PYTHONPATH={os.environ.get('PYTHONPATH')})")
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.1f}")
    print(f"command: python bench/memory.py --sizes {' '.join(map(str, args.sizes))} --tasks {' '.join(args.tasks)}")
    print(f"file: the embedded corpus ({len(corpus):,} bytes) written N times into one .txt; "
          "peak RSS of a fresh process")
    print(f"{'task':8}{'size':>6}{'file MB':>10}{'peak MB':>10}{'x 1st':>8}{'MB - 1st':>10}{'wall s':>9}{'CPU s':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.tasks:
            first = None
            for n in args.sizes:
                path = Path(tmp) / "corpus.txt"
                with open(path, "wb") as f:
                    for _ in range(n):
                        f.write(corpus + b"\n\n")
                if task == "encode":
                    argv = ["data", "encode", str(path), "--tokenizer", str(ROOT / "models"), "--out", f"{tmp}/bins"]
                else:
                    argv = ["tokenizer", "train", str(path), "--vocab-size", "512", "--workers", "1",
                            "--out", f"{tmp}/tok"]
                peak, seconds, cpu = peak_of(argv, Path(picaboo.__file__).parent)
                first = first or peak
                print(f"{task:8}{n:>5}x{path.stat().st_size / 1e6:>10.1f}{peak:>10.1f}{peak / first:>8.2f}"
                      f"{peak - first:>10.1f}{seconds:>9.1f}{cpu:>8.1f}", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
