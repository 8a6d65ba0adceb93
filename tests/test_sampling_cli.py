"""`picaboo sample` end to end, in a subprocess: a save_pretrained folder, a training checkpoint, a Hugging Face GPT-2
folder, and the errors a user can make. Plus a wider cached-vs-uncached grid than the notebook runs."""
import argparse, io, os, shutil, subprocess, sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import torch

from picaboo.cli_sample import add_cli
from picaboo.model import PicabooLM, PicabooLMParams
from picaboo.sampling import beam_search, generate, left_pad, stream
from picaboo.tokenizer import ENDOFTEXT, CharTokenizer, Tokenizer

TEXT = "the cat sat on the mat. the dog sat on the log. " * 20
PICABOO = [sys.executable, "-c", "import sys; from picaboo.cli import main; sys.exit(main())"]

def sample_subprocess(*argv, timeout=120):
    "`picaboo sample ...` in a fresh interpreter, through the real `picaboo` entry point."
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([*PICABOO, "sample", *argv], capture_output=True, text=True, timeout=timeout, env=env)

def sample(*argv):
    "`picaboo sample ...` in this process (faster), with the CLI's error handling; returns what a subprocess would."
    from picaboo.cli import run_command
    parser = argparse.ArgumentParser(prog="picaboo")
    add_cli(parser.add_subparsers(dest="command"))
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err): status = run_command(parser.parse_args(["sample", *argv]))
    return subprocess.CompletedProcess(argv, status, out.getvalue(), err.getvalue())

@pytest.fixture(scope="module")
def bpe():
    tok = Tokenizer(special_tokens=[ENDOFTEXT]); tok.train(TEXT, vocab_size=270)
    return tok

def small_model(vocab_size, **kw):
    torch.manual_seed(0)
    return PicabooLM(PicabooLMParams(context_length=32, vocab_size=vocab_size, num_blocks=2, num_heads=2, d_model=32, **kw))

@pytest.fixture(scope="module")
def ckpt(tmp_path_factory, bpe):
    d = tmp_path_factory.mktemp("ckpt")
    model = small_model(bpe.vocab_size)
    model.save_pretrained(d); bpe.save(d)
    return d, model

def test_sample_save_pretrained_folder(ckpt, bpe):
    d, model = ckpt
    r = sample_subprocess("--ckpt", str(d), "--prompt", "the cat", "--max-new-tokens", "20", "--seed", "3", "--top-k", "50", "--top-p", "0.9")
    assert r.returncode == 0, r.stderr
    expected = "the cat" + "".join(stream(model, bpe, "the cat", 20, seed=3, top_k=50, top_p=0.9)) + "\n"
    assert r.stdout == expected
    assert sample("--ckpt", str(d), "--prompt", "the cat", "--max-new-tokens", "20", "--seed", "3", "--top-k", "50", "--top-p", "0.9").stdout == expected

def test_sample_tokenizer_in_subfolder_and_empty_prompt(tmp_path, bpe):
    model = small_model(bpe.vocab_size)
    model.save_pretrained(tmp_path); bpe.save(tmp_path / "tokenizer")
    r = sample("--ckpt", str(tmp_path), "--max-new-tokens", "5", "--temperature", "0")
    assert r.returncode == 0, r.stderr

def test_sample_training_checkpoint(tmp_path, bpe):
    checkpoint = pytest.importorskip("picaboo.checkpoint")
    model = small_model(bpe.vocab_size)
    checkpoint.save_checkpoint(tmp_path / "latest.pt", model, tokenizer=bpe)
    expected = "the" + "".join(stream(model, bpe, "the", 10, temperature=0)) + "\n"
    for target in (tmp_path, tmp_path / "latest.pt"):
        r = sample("--ckpt", str(target), "--prompt", "the", "--max-new-tokens", "10", "--temperature", "0")
        assert r.returncode == 0 and r.stdout == expected, r.stderr

def test_sample_hf_gpt2_folder(tmp_path):
    gpt2_dir = os.environ.get("PICABOO_GPT2_DIR")
    if not gpt2_dir: pytest.skip("PICABOO_GPT2_DIR is not set (a folder with GPT-2's encoder.json + vocab.bpe)")
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(0)
    hf = GPT2LMHeadModel(GPT2Config(n_positions=64, n_embd=32, n_layer=1, n_head=2)).eval()
    hf.save_pretrained(tmp_path)
    shutil.copy(Path(gpt2_dir) / "encoder.json", tmp_path / "vocab.json")  # the Hugging Face names of the same files
    shutil.copy(Path(gpt2_dir) / "vocab.bpe", tmp_path / "merges.txt")
    r = sample("--ckpt", str(tmp_path), "--prompt", "Hello, world", "--max-new-tokens", "8", "--temperature", "0")
    assert r.returncode == 0, r.stderr
    prompt = Tokenizer.load(gpt2_dir).encode("Hello, world")
    theirs = hf.generate(torch.tensor([prompt]), max_new_tokens=8, do_sample=False, pad_token_id=0, eos_token_id=None,
                         attention_mask=torch.ones(1, len(prompt), dtype=torch.long))
    assert r.stdout == Tokenizer.load(gpt2_dir).decode(theirs[0].tolist()) + "\n"

def test_sample_char_tokenizer_unknown_characters(tmp_path):
    tok = CharTokenizer(special_tokens=[ENDOFTEXT]); tok.train(TEXT)
    small_model(tok.vocab_size).save_pretrained(tmp_path); tok.save(tmp_path)
    r = sample("--ckpt", str(tmp_path), "--prompt", "the Zebra€", "--max-new-tokens", "5")
    assert r.returncode == 2 and "does not know" in r.stderr and "'Z'" in r.stderr and "'€'" in r.stderr, r.stderr
    assert r.stdout == ""  # nothing printed before the error
    assert sample("--ckpt", str(tmp_path), "--prompt", "the cat", "--max-new-tokens", "5").returncode == 0

@pytest.mark.parametrize("argv, message", [
    (["--top-p", "0"], "top_p must be in (0, 1]"), (["--top-p", "1.01"], "top_p must be in (0, 1]"),
    (["--temperature", "-0.5"], "temperature must be >= 0"), (["--min-p", "3"], "min_p must be in [0, 1]"),
    (["--repetition-penalty", "0"], "repetition_penalty must be > 0")])
def test_sample_bad_settings(ckpt, argv, message):
    r = sample("--ckpt", str(ckpt[0]), "--prompt", "the", *argv)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr

def test_sample_bad_checkpoints(tmp_path, bpe):
    r = sample_subprocess("--ckpt", str(tmp_path / "missing"))
    assert r.returncode == 2 and "no checkpoint at" in r.stderr and "Traceback" not in r.stderr, r.stderr
    small_model(bpe.vocab_size).save_pretrained(tmp_path)  # no tokenizer next to it
    r = sample("--ckpt", str(tmp_path), "--prompt", "the")
    assert r.returncode == 2 and "no tokenizer" in r.stderr, r.stderr

def test_sample_long_prompt_note(ckpt):
    r = sample("--ckpt", str(ckpt[0]), "--prompt", "the cat sat " * 30, "--max-new-tokens", "3", "--temperature", "0")
    assert r.returncode == 0 and "note: the prompt has" in r.stderr and "only the last 32" in r.stderr

@pytest.mark.parametrize("pos_encoding", ["learned", "sinusoidal", "rope"])
def test_cached_equals_uncached_grid(pos_encoding):
    "Every prompt length up to the context, and generations that slide past it (slide=1: exactly the cropping loop)."
    model = small_model(61, pos_encoding=pos_encoding, dropout_rate=0.1)
    with torch.no_grad():
        for w in model.parameters():
            if w.dim() == 2: w.normal_(0, 0.3)
    g = torch.Generator().manual_seed(0)
    for T in range(1, 33, 3):
        prompt = torch.randint(0, 61, (1, T), generator=g)
        n = 33 - T  # up to one past the context
        assert torch.equal(generate(model, prompt, n, temperature=0), generate(model, prompt, n, temperature=0, use_cache=False)), T
    prompt = torch.randint(0, 61, (2, 7), generator=g)
    assert torch.equal(generate(model, prompt, 70, temperature=0, slide=1), generate(model, prompt, 70, temperature=0, use_cache=False))
    prompts = [torch.randint(0, 61, (n,), generator=g).tolist() for n in (1, 4, 11, 2, 16)]
    idx, mask = left_pad(prompts)
    batch = generate(model, idx, 16, temperature=0, attention_mask=mask)
    for row, p in zip(batch, prompts):
        assert torch.equal(row[-16:], generate(model, torch.tensor([p]), 16, temperature=0)[0, -16:])

def test_sample_streams_before_it_ends(ckpt):
    "Text reaches the terminal while the model is still generating (flushed piece by piece), not all at the end."
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([*PICABOO, "sample", "--ckpt", str(ckpt[0]), "--prompt", "the cat", "--max-new-tokens", "100000",
                             "--seed", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        first = proc.stdout.read(len("the cat") + 5)  # the prompt, then the first generated characters
        assert first.startswith(b"the cat") and len(first) == len("the cat") + 5
        assert proc.poll() is None  # still generating
    finally:
        proc.kill(); proc.wait()


@pytest.mark.parametrize("argv, message", [
    (["--num-beams", "3", "--temperature", "0.5"], "drop --temperature"),
    (["--num-beams", "3", "--top-k", "5", "--ban", "x"], "drop --top-k, --ban"),
    (["--num-beams", "2", "--num-samples", "3"], "--num-samples 3 with --num-beams 2: the search keeps 2 hypotheses"),
    (["--num-beams", "2", "--num-samples", "3", "--seed", "1"], "drop --seed"),
    (["--num-samples", "2", "--temperature", "0"], "prints one text 2 times"),
    (["--num-samples", "0"], "--num-samples and --num-beams must be >= 1"),
    (["--logit-bias", "cat"], "TEXT=BIAS"),
    (["--logit-bias", "cat=much"], "TEXT=BIAS"),
    (["--logit-bias", "cat=inf"], "TEXT=BIAS"),
    (["--ban", ""], "--ban needs a non-empty text"),
    (["--frequency-penalty", "nan"], "frequency_penalty must be a finite number"),
    (["--no-repeat-ngram-size", "-2"], "no_repeat_ngram_size must be a whole number")])
def test_sample_flags_that_contradict(ckpt, argv, message):
    "One line on stderr, status 2, nothing printed."
    r = sample("--ckpt", str(ckpt[0]), "--prompt", "the", *argv)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and r.stdout == ""


def test_sample_contradiction_exit_status_in_a_subprocess(ckpt):
    r = sample_subprocess("--ckpt", str(ckpt[0]), "--num-beams", "4", "--seed", "1")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "drop --seed" in r.stderr, r.stderr


def test_sample_several_samples(ckpt, bpe):
    d, model = ckpt
    r = sample("--ckpt", str(d), "--prompt", "the cat", "--max-new-tokens", "12", "--seed", "3", "--num-samples", "3")
    expected = ""
    for i in range(3):
        continuation = "".join(stream(model, bpe, "the cat", 12, seed=3 + i))
        expected += f"--- sample {i + 1} of 3 ---\nthe cat{continuation}\n"
    assert r.returncode == 0 and r.stdout == expected, r.stderr
    samples = generate(model, torch.tensor([bpe.encode("the cat")]), 12, num_return_sequences=3, seed=0)
    assert samples.shape[0] == 3 and len({tuple(row) for row in samples.tolist()}) > 1


def test_sample_beam_search(ckpt, bpe):
    d, model = ckpt
    r = sample("--ckpt", str(d), "--prompt", "the cat", "--max-new-tokens", "10", "--num-beams", "3")
    idx = torch.tensor([bpe.encode("the cat")])
    best, _ = beam_search(model, idx, 10, 3, stop_tokens=[bpe.eot_id])
    new = [t for t in best[0, idx.size(1):].tolist() if t != bpe.eot_id]
    assert r.returncode == 0 and r.stdout == "the cat" + bpe.decode(new) + "\n", r.stderr
    no_cache = sample("--ckpt", str(d), "--prompt", "the cat", "--max-new-tokens", "10", "--num-beams", "3", "--no-cache")
    assert no_cache.stdout == r.stdout


def test_sample_several_beams(ckpt, bpe):
    "--num-beams B --num-samples N prints the N best beams, best first, each under a header with its score."
    d, model = ckpt
    r = sample_subprocess("--ckpt", str(d), "--prompt", "the cat", "--max-new-tokens", "10", "--num-beams", "4",
                          "--num-samples", "3")
    idx = torch.tensor([bpe.encode("the cat")])
    beams, scores = beam_search(model, idx, 10, 4, stop_tokens=[bpe.eot_id], num_return_sequences=3)
    assert beams.shape[0] == 3 and scores.tolist() == sorted(scores.tolist(), reverse=True)
    expected = ""
    for i, (row, score) in enumerate(zip(beams, scores.tolist())):
        new = [t for t in row[idx.size(1):].tolist() if t != bpe.eot_id]
        expected += f"--- beam {i + 1} of 3 (score {score:.3f}) ---\nthe cat{bpe.decode(new)}\n"
    assert r.returncode == 0 and r.stdout == expected, r.stderr
    best = sample("--ckpt", str(d), "--prompt", "the cat", "--max-new-tokens", "10", "--num-beams", "4")
    assert best.stdout == "the cat" + expected.split("\nthe cat", 1)[1].split("\n")[0] + "\n"  # the first of them


def test_beam_search_returns_the_best_beams_like_transformers():
    "The N best sequences and their scores are transformers' (num_return_sequences), with and without a stop token."
    import tempfile
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(1)
    hf = GPT2LMHeadModel(GPT2Config(vocab_size=200, n_positions=48, n_embd=32, n_layer=2, n_head=2,
                                    initializer_range=0.2, bos_token_id=0, eos_token_id=0)).eval()
    with tempfile.TemporaryDirectory() as folder:
        hf.save_pretrained(folder)
        ours = PicabooLM.from_hf_gpt2(folder)
    prompt = torch.randint(0, 200, (1, 5))
    plain = beam_search(ours, prompt, 10, 3)[0][0, 5:].tolist()
    for stop in (None, *plain[1:9:3]):  # tokens the beams produce: some hypotheses end early
        for num_beams, n in ((3, 3), (5, 2)):
            kw = dict(stop_tokens=[stop]) if stop is not None else {}
            ids, scores = beam_search(ours, prompt, 10, num_beams, num_return_sequences=n, **kw)
            theirs = hf.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=10, num_beams=num_beams,
                                 num_return_sequences=n, do_sample=False, pad_token_id=0, eos_token_id=stop,
                                 early_stopping=True, output_scores=True, return_dict_in_generate=True)
            assert torch.equal(ids, theirs.sequences), (stop, num_beams)
            torch.testing.assert_close(scores, theirs.sequences_scores, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="num_return_sequences between 1 and num_beams"):
        beam_search(ours, prompt, 5, num_beams=2, num_return_sequences=3)


def test_sample_bans_and_biases(ckpt, bpe):
    d, model = ckpt
    idx = torch.tensor([bpe.encode("the cat")])
    plain = generate(model, idx, 30, temperature=0)[0, idx.size(1):].tolist()
    banned = plain[3:5]  # two tokens the model writes in a row
    text = bpe.decode(banned)
    r = sample("--ckpt", str(d), "--prompt", "the cat", "--max-new-tokens", "30", "--temperature", "0", "--ban", text,
               "--no-repeat-ngram-size", "3", "--logit-bias", f"{bpe.decode(plain[:1])}=-2", "--presence-penalty", "0.5")
    assert r.returncode == 0, r.stderr
    ours = generate(model, idx, 30, temperature=0, bad_words_ids=[bpe.encode_ordinary(text)], no_repeat_ngram_size=3,
                    sequence_bias={tuple(bpe.encode_ordinary(bpe.decode(plain[:1]))): -2.0}, presence_penalty=0.5,
                    stop_tokens=[bpe.eot_id])[0, idx.size(1):].tolist()
    ban = bpe.encode_ordinary(text)
    assert all(ours[i:i + len(ban)] != ban for i in range(len(ours))), (ours, ban)
    assert ours != plain
    assert r.stdout == "the cat" + bpe.decode([t for t in ours if t != bpe.eot_id]) + "\n"
