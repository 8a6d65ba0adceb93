"""Benchmark `picaboo train` at the tiny preset: tokens/s, time waiting for data, peak memory (1x and 10x corpus).

    python bench/training.py [--steps 60] [--batch-size 16] [--out bench/results/training.txt]

Peers measured in the same run:
- a bare PyTorch loop (same model, batch and optimizer; no trainer) for tokens/s: the trainer's overhead;
- the same command on a corpus 10x larger for peak memory: token files are memory-mapped, so it must stay flat.
Each training run is a fresh `picaboo train` process; the corpus is encoded first (not timed), and the process
reports its own peak resident memory (ru_maxrss). Tokens/s and the data-wait share are medians over the steps
after the first 5 (warm-up), read from the run's checkpoint history.
"""
import argparse, json, os, platform, resource, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import resource, sys
from picaboo.cli import main
rc = main(sys.argv[1:])
print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
sys.exit(rc)
"""

def make_corpus(folder:Path, copies:int) -> Path:
    "The embedded corpus, `copies` times, as one text file per copy."
    from picaboo.data import load_default_corpus
    folder.mkdir(parents=True, exist_ok=True)
    text = load_default_corpus()
    for i in range(copies):
        (folder/f"copy{i:02d}.txt").write_text(text, encoding="utf-8")
    return folder

def run_train(corpus:Path, out:Path, steps:int, batch_size:int) -> dict:
    "Encode (untimed), then one `picaboo train` process; its peak RSS and step statistics."
    from picaboo.checkpoint import load_checkpoint
    from picaboo.tokenizer import load_tokenizer
    from picaboo.train_cli import prepare_data
    t0 = time.perf_counter()
    train_bin, _ = prepare_data(corpus, load_tokenizer(ROOT/"models"), out/"data")
    encode_s = time.perf_counter() - t0
    args = ["train", "--out", str(out), "--data", str(corpus), "--tokenizer", str(ROOT/"models"), "--preset", "tiny",
            "--batch-size", str(batch_size), "--max-steps", str(steps), "--warmup-steps", "5", "--eval-every", "0",
            "--save-every", "0", "--sample-every", "0", "--no-progress", "--no-tracking", "--log-every", "1000"]
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, cwd=out.parent)
    wall = time.perf_counter() - t0
    if r.returncode:
        raise SystemExit(f"picaboo train failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    maxrss = int(r.stdout.split("MAXRSS_KB")[-1].split()[0]) * (1 if sys.platform != "darwin" else 1 / 1024)
    h = load_checkpoint(out/"checkpoints")["history"]
    return dict(tokens=int(train_bin.stat().st_size // 2), encode_s=encode_s, wall_s=wall, peak_mb=maxrss / 1024,
                tok_s=statistics.median(h["tokens_per_s"][5:]), data_wait=statistics.median(h["data_wait"][5:]))

def bare_loop(steps:int, batch_size:int) -> float:
    "Tokens/s of a plain PyTorch loop: random windows, forward, backward, AdamW step."
    from picaboo.model import PicabooLM, PicabooLMParams
    torch.manual_seed(0)
    p = PicabooLMParams.preset("tiny")
    model = PicabooLM(p)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    data = np.random.default_rng(0).integers(0, p.vocab_size, 400_000).astype(np.uint16)
    rates = []
    for step in range(steps):
        t0 = time.perf_counter()
        starts = np.random.randint(0, len(data) - p.context_length - 1, batch_size)
        rows = torch.from_numpy(np.stack([data[s:s + p.context_length + 1] for s in starts]).astype(np.int64))
        _, loss = model(rows[:, :-1], rows[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        loss.item()
        rates.append(batch_size * p.context_length / (time.perf_counter() - t0))
    return statistics.median(rates[5:])

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--out", default=None, help="also write the table here")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        bares = [bare_loop(a.steps // 2, a.batch_size)]  # the peer is measured between the runs: load drifts
        small = run_train(make_corpus(d/"corpus1", 1), d/"run1", a.steps, a.batch_size)
        bares.append(bare_loop(a.steps // 2, a.batch_size))
        big = run_train(make_corpus(d/"corpus10", 10), d/"run10", a.steps, a.batch_size)
        bares.append(bare_loop(a.steps // 2, a.batch_size))
    bare = statistics.median(bares)
    lines = [f"# bench/training.py: picaboo train, tiny preset, batch {a.batch_size} x 128 tokens, {a.steps} steps, "
             f"{torch.get_num_threads()} torch threads, CPU ({platform.processor() or platform.machine()}), "
             f"torch {torch.__version__}",
             f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
             "machine shared with other jobs: compare ratios, not absolutes",
             "",
             f"{'run':28s} {'train tokens':>12s} {'encode s':>9s} {'tokens/s':>9s} {'data wait':>9s} {'peak MB':>8s}",
             f"{'picaboo train, 1x corpus':28s} {small['tokens']:12,d} {small['encode_s']:9.1f} {small['tok_s']:9.0f} "
             f"{small['data_wait']:9.2%} {small['peak_mb']:8.0f}",
             f"{'picaboo train, 10x corpus':28s} {big['tokens']:12,d} {big['encode_s']:9.1f} {big['tok_s']:9.0f} "
             f"{big['data_wait']:9.2%} {big['peak_mb']:8.0f}",
             f"{'bare PyTorch loop (peer)':28s} {'':>12s} {'':>9s} {bare:9.0f} {'':>9s} {'':>8s}   "
             f"(median of {', '.join(f'{b:.0f}' for b in bares)})",
             "",
             f"trainer / bare loop tokens/s:      {small['tok_s'] / bare:.2f}",
             f"peak memory 10x / 1x corpus:       {big['peak_mb'] / small['peak_mb']:.2f}  "
             f"(corpus tokens x{big['tokens'] / small['tokens']:.1f})",
             f"share of step time waiting for data: {small['data_wait']:.2%} (1x), {big['data_wait']:.2%} (10x)"]
    table = "\n".join(lines)
    print(table)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(table + "\n", encoding="utf-8")

if __name__ == "__main__":
    main()
