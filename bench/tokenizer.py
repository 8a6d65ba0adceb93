"""Benchmark picaboo's BPE tokenizer on the embedded corpus, against its peers, in one run.

Training: picaboo's fast trainer vs Hugging Face `tokenizers` (Rust; RAYON_NUM_THREADS=1 and default threads,
each in its own process so the thread setting takes effect) and vs the naive recount trainer the book teaches
first. Encoding: picaboo's pure-Python encoder (cold and warm pre-token cache) vs the naive per-pair loop and
vs tiktoken running picaboo's own vocabulary (`Tokenizer.to_tiktoken()`), with an identical-ids check.

    python bench/tokenizer.py                      # about 3 minutes, most of it the naive trainer
    python bench/tokenizer.py --naive-bytes 30000  # quicker, a smaller slice for the naive trainer
    PICABOO_GPT2_DIR=../shared/data/gpt2 python bench/tokenizer.py   # adds tiktoken's speed on GPT-2's vocabulary

Ratios compare numbers from this one run. Fast timings are the best of --repeat runs.
"""
import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import regex

ROOT = Path(__file__).resolve().parents[1]


class Timing(tuple):
    "(wall seconds, CPU seconds of this process and its threads); compares and divides by CPU seconds."
    wall = property(lambda self: self[0])
    cpu = property(lambda self: self[1])


def timed(fn) -> tuple[Timing, object]:
    "Time one call of `fn()`: wall-clock and CPU seconds."
    w0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    return Timing((time.perf_counter() - w0, time.process_time() - c0)), result


def best_time(fn, repeat:int) -> tuple[Timing, object]:
    "The best of `repeat` timings of `fn()` (wall and CPU each at their minimum), and the last result."
    times, result = [], None
    for _ in range(repeat):
        t, result = timed(fn)
        times.append(t)
    return Timing((min(t.wall for t in times), min(t.cpu for t in times))), result


def hf_train_seconds(vocab_size:int, threads:int|None, repeat:int) -> Timing:
    "Time Hugging Face's BPE trainer in a child process (so RAYON_NUM_THREADS applies)."
    env = {k: v for k, v in os.environ.items() if k != "RAYON_NUM_THREADS"}
    if threads:
        env["RAYON_NUM_THREADS"] = str(threads)
    out = subprocess.run([sys.executable, __file__, "--hf-child", str(vocab_size), "--repeat", str(repeat)],
                         env=env, capture_output=True, text=True, check=True)
    return Timing(map(float, out.stdout.strip().splitlines()[-1].split()))


def hf_child(vocab_size:int, repeat:int):
    from tokenizers import Tokenizer as HFTokenizer, models, pre_tokenizers, trainers
    from picaboo.data import default_documents
    texts = [d.text for d in default_documents()]
    def train():
        tok = HFTokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False, min_frequency=0)
        tok.train_from_iterator(texts, trainer=trainer)
        return tok
    seconds, tok = best_time(train, repeat)
    assert tok.get_vocab_size() == vocab_size, tok.get_vocab_size()
    print(seconds.wall, seconds.cpu)


def encode_naive(text:str, pair_ids:dict, pattern:str) -> list[int]:
    "The per-pair loop (minbpe's encode): recount a pre-token's pairs after every merge, no cache."
    from picaboo.bpe import get_stats, merge
    out = []
    for piece in regex.findall(pattern, text):
        ids = list(piece.encode("utf-8"))
        while len(ids) >= 2:
            stats = get_stats(ids)
            pair = min(stats, key=lambda p: pair_ids.get(p, float("inf")))
            if pair not in pair_ids:
                break
            ids = merge(ids, pair, pair_ids[pair])
        out += ids
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naive-bytes", type=int, default=100_000, help="slice of the corpus for the naive trainer")
    parser.add_argument("--naive-tokens", type=int, default=1024,
                        help="vocabulary the naive trainer learns on the slice")
    parser.add_argument("--repeat", type=int, default=3, help="runs per fast training timing (the best counts)")
    parser.add_argument("--encode-repeat", type=int, default=10, help="runs per encoding timing (the best counts)")
    parser.add_argument("--hf-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hf_child:
        return hf_child(args.hf_child, args.repeat)

    from picaboo.bpe import GPT2_SPLIT_PATTERN, count_words, train_bpe, train_bpe_naive
    from picaboo.data import load_default_corpus
    from picaboo.tokenizer import Tokenizer
    corpus = load_default_corpus()
    n_bytes = len(corpus.encode("utf-8"))
    MB = n_bytes / 1e6
    print(f"picaboo tokenizer benchmark, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average at start "
          f"{os.getloadavg()[0]:.1f}; corpus: the embedded Python-docs corpus, {n_bytes:,} bytes")
    print("picaboo runs pure Python in one process (pre-tokenization included). Fast timings: best of "
          f"{args.repeat} (training) or {args.encode_repeat} (encoding). "
          "Ratios use CPU seconds (immune to waiting for a busy CPU), except against\n"
          "multi-threaded HF, where wall seconds are the fair measure.\n")

    def row(what, t:Timing, note=""):
        print(f"  {what:<60} {t.wall:8.2f} {t.cpu:8.2f}  {note}", flush=True)
    def mbps(t:Timing, nbytes=n_bytes):
        return f"{nbytes / t.cpu / 1e6:5.2f} MB/s"

    print(f"Training{'':<56}wall s    CPU s")
    fast, hf1 = {}, {}
    for v in (1024, 4096):
        fast[v], _ = best_time(lambda: Tokenizer().train(corpus, vocab_size=v, workers=1), args.repeat)
        row(f"picaboo fast trainer, {MB:.1f} MB -> {v}", fast[v])
        hf1[v] = hf_train_seconds(v, 1, args.repeat)
        row(f"HF tokenizers, RAYON_NUM_THREADS=1, {MB:.1f} MB -> {v}", hf1[v],
            f"picaboo / HF = {fast[v].cpu / hf1[v].cpu:.1f}x (CPU)")
        hfn = hf_train_seconds(v, None, args.repeat)
        row(f"HF tokenizers, default threads, {MB:.1f} MB -> {v}", hfn,
            f"picaboo / HF = {fast[v].wall / hfn.wall:.1f}x (wall)")

    piece = corpus[:args.naive_bytes]
    kb, nt = len(piece.encode("utf-8")) / 1e3, args.naive_tokens
    naive, naive_merges = timed(lambda: train_bpe_naive(piece, nt, GPT2_SPLIT_PATTERN))
    fast_slice, (fast_merges, _) = best_time(lambda: train_bpe(count_words(piece, workers=1), nt), args.repeat)
    row(f"naive recount trainer, first {kb:.0f} kB -> {nt}", naive)
    row(f"picaboo fast trainer, the same {kb:.0f} kB -> {nt}", fast_slice,
        f"naive / fast = {naive.cpu / fast_slice.cpu:.0f}x, same merges: {naive_merges == fast_merges}")
    # the naive trainer on the whole corpus takes far too long to wait for: time its first merges, extrapolate
    k = 8
    first, _ = timed(lambda: train_bpe_naive(corpus, 256 + k, GPT2_SPLIT_PATTERN))
    estimate = Timing((first.wall * 768 / k, first.cpu * 768 / k))
    row(f"naive, {MB:.1f} MB -> 1024: ESTIMATE = ({k} merges) x 768/{k}", estimate,
        f"naive / fast = {estimate.cpu / fast[1024].cpu:.0f}x (estimate)")

    print(f"\nEncoding the corpus with the models/ tokenizer (2048 tokens); MB/s per CPU second")
    tok = Tokenizer.load(ROOT / "models")
    cold, ids = timed(lambda: tok.encode_ordinary(corpus))
    row("picaboo encode, cold pre-token cache", cold, mbps(cold))
    warm, _ = best_time(lambda: tok.encode_ordinary(corpus), args.encode_repeat)
    row("picaboo encode, warm pre-token cache", warm, mbps(warm))
    split, _ = best_time(lambda: regex.findall(GPT2_SPLIT_PATTERN, corpus), args.encode_repeat)
    row("  of which the regex split alone", split, mbps(split))
    pair_ids = {(tok.ranks[a], tok.ranks[b]): tok.ranks[a + b] for a, b in tok.merges}
    slice_text = corpus[:200_000]
    naive_enc, naive_ids = timed(lambda: encode_naive(slice_text, pair_ids, tok.pattern))
    row("naive per-pair loop, no cache (first 200 kB)", naive_enc,
        f"{mbps(naive_enc, len(slice_text.encode('utf-8')))}, same ids: {naive_ids == tok.encode_ordinary(slice_text)}")
    enc = tok.to_tiktoken()
    tk, tk_ids = best_time(lambda: enc.encode_ordinary(corpus), args.encode_repeat)
    row("tiktoken running picaboo's vocabulary (to_tiktoken)", tk, f"{mbps(tk)}, identical ids: {tk_ids == ids}")
    run = " " * 1_000_000  # one pre-token of 1 MB: the cost of bpe_encode in the length of a single pre-token
    fresh = Tokenizer.load(ROOT / "models")  # an empty cache, so bpe_encode runs
    long_py, long_ids = timed(lambda: fresh.encode_ordinary(run))
    long_tk, long_tk_ids = timed(lambda: enc.encode_ordinary(run))
    row("picaboo encode, 1 MB of one repeated character (a space)", long_py, mbps(long_py, len(run)))
    row("tiktoken, the same 1 MB, the same vocabulary", long_tk,
        f"{mbps(long_tk, len(run))}, picaboo / tiktoken = {long_py.cpu / long_tk.cpu:.1f}x, "
        f"identical ids: {long_ids == long_tk_ids}")
    if os.environ.get("PICABOO_GPT2_DIR"):  # tiktoken's own speed, on GPT-2's vocabulary, for reference
        gpt2 = Tokenizer.load(os.environ["PICABOO_GPT2_DIR"]).to_tiktoken("gpt2")
        tk_gpt2, _ = best_time(lambda: gpt2.encode_ordinary(corpus), args.encode_repeat)
        row("tiktoken with GPT-2's vocabulary (reference)", tk_gpt2, mbps(tk_gpt2))

    print("\nTargets (ratios of CPU times from this run)")
    print(f"  fast trainer >= 100x the naive one:      {naive.cpu / fast_slice.cpu:.0f}x measured on the "
          f"{kb:.0f} kB slice -> {nt}; "
          f"about {estimate.cpu / fast[1024].cpu:.0f}x on {MB:.1f} MB -> 1024 (estimate)")
    print(f"  within 5x of HF single-threaded at 4096: {fast[4096].cpu / hf1[4096].cpu:.1f}x "
          f"(at 1024: {fast[1024].cpu / hf1[1024].cpu:.1f}x)")
    print(f"  pure-Python encode >= 4 MB/s:            {mbps(warm)} warm cache, {mbps(cold)} cold; "
          f"the regex split alone {mbps(split)}")
    print(f"  to_tiktoken: identical ids {tk_ids == ids}; {mbps(tk)}, {warm.cpu / tk.cpu:.1f}x the speed of "
          "picaboo's warm encode (which caches pre-tokens; tiktoken does not)")
    print(f"Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          "(a shared machine: wall times are noisy, CPU times less so)")

if __name__ == "__main__":
    main()
