"""Architecture switches (RMSNorm, SwiGLU, grouped-query attention, QK-norm, RoPE base) and the Hugging Face
Llama, Mistral and Qwen3 formats, both ways: small random models built by transformers, nothing downloaded."""
import json

import pytest
import torch

from picaboo.model import SWITCHES, PicabooLM, PicabooLMParams

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()

TINY_HF = dict(vocab_size=97, hidden_size=32, intermediate_size=80, num_hidden_layers=2, num_attention_heads=4,
               max_position_embeddings=64)


def hf_logits(model, ids):
    with torch.no_grad():
        return model(ids).logits


def build_hf(kind, tmp_path, shards=False, **extra):
    "A random transformers model of `kind`, saved as safetensors (in shards if asked); returns (model, folder)."
    torch.manual_seed(0)
    configs = dict(llama=(transformers.LlamaConfig, transformers.LlamaForCausalLM),
                   mistral=(transformers.MistralConfig, transformers.MistralForCausalLM),
                   qwen3=(transformers.Qwen3Config, transformers.Qwen3ForCausalLM))
    config_cls, model_cls = configs[kind]
    settings = {**TINY_HF, "num_key_value_heads": 2, **extra}
    if kind == "mistral":
        settings.setdefault("sliding_window", None)
    if kind == "qwen3":
        settings.setdefault("head_dim", 8)
    hf = model_cls(config_cls(**settings)).eval()
    with torch.no_grad():  # norms start at one: make them random too, so a missed norm weight shows
        for name, w in hf.named_parameters():
            if name.endswith("norm.weight"):
                w.uniform_(0.5, 1.5)
    folder = tmp_path / kind
    hf.save_pretrained(folder, safe_serialization=True, **({"max_shard_size": "20KB"} if shards else {}))
    return hf, folder


@pytest.mark.parametrize("kind,extra", [("llama", {}), ("llama", {"tie_word_embeddings": True}),
                                        ("llama", {"attention_bias": True, "mlp_bias": True}),
                                        ("mistral", {}), ("qwen3", {}), ("qwen3", {"num_key_value_heads": 1}),
                                        ("qwen3", {"head_dim": 16})])  # heads wider than hidden / heads: Qwen3-0.6B
def test_from_pretrained_matches_transformers(tmp_path, kind, extra):
    hf, folder = build_hf(kind, tmp_path, **extra)
    ours = PicabooLM.from_pretrained(folder, device="cpu").eval()
    ids = torch.randint(0, 97, (2, 40))
    assert (ours(ids) - hf_logits(hf, ids)).abs().max().item() < 1e-4
    assert ours.params.qk_norm == (kind == "qwen3") and ours.params.kv_heads == hf.config.num_key_value_heads


def test_sharded_folder(tmp_path):
    hf, folder = build_hf("llama", tmp_path, shards=True)
    assert (folder / "model.safetensors.index.json").is_file() and len(list(folder.glob("*.safetensors"))) > 1
    ours = PicabooLM.from_pretrained(folder, device="cpu").eval()
    ids = torch.randint(0, 97, (1, 30))
    assert (ours(ids) - hf_logits(hf, ids)).abs().max().item() < 1e-4


@pytest.mark.parametrize("change,setting", [({"rope_scaling": {"rope_type": "linear", "factor": 2.0}}, "rope_scaling"),
                                            ({"attention_bias": True}, "attention_bias"),
                                            ({"hidden_act": "gelu"}, "hidden_act")])
def test_unsupported_settings_are_refused(tmp_path, change, setting):
    _, folder = build_hf("llama", tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config.update(change)
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=setting):
        PicabooLM.from_pretrained(folder, device="cpu")


def test_mistral_sliding_window_is_refused(tmp_path):
    _, folder = build_hf("mistral", tmp_path, sliding_window=16)
    with pytest.raises(ValueError, match="sliding_window=16"):
        PicabooLM.from_pretrained(folder, device="cpu")


@pytest.mark.parametrize("switches,architecture", [
    ({}, "GPT2LMHeadModel"),
    ({**SWITCHES["llama"], "num_kv_heads": 2}, "LlamaForCausalLM"),
    ({**SWITCHES["llama"], "bias": True, "tie_weights": True}, "LlamaForCausalLM"),
    ({**SWITCHES["qwen3"], "num_kv_heads": 1}, "Qwen3ForCausalLM"),
    ({**SWITCHES["qwen3"], "num_kv_heads": 2, "head_size": 64}, "Qwen3ForCausalLM"),
    ({"vocab_size": 2000, "vocab_multiple": 64}, "GPT2LMHeadModel"),  # padded rows stay behind
    ({**SWITCHES["llama"], "vocab_size": 2000, "vocab_multiple": 64}, "LlamaForCausalLM")])
def test_save_pretrained_hf_loads_in_transformers(tmp_path, switches, architecture):
    torch.manual_seed(0)
    ours = PicabooLM(PicabooLMParams.preset("tiny", context_length=48, device="cpu", **switches)).eval()
    with torch.no_grad():  # random norms and biases, so a misplaced one shows
        for name, w in ours.named_parameters():
            if w.dim() == 1:
                w.uniform_(0.5, 1.5)
    ours.save_pretrained(tmp_path / "hf", format="hf")
    hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "hf").eval()
    assert type(hf).__name__ == architecture and hf.config.vocab_size == ours.params.vocab_size
    ids = torch.randint(0, ours.params.vocab_size, (2, 40))
    assert (ours(ids) - hf_logits(hf, ids)).abs().max().item() < 1e-4
    back = PicabooLM.from_pretrained(tmp_path / "hf", device="cpu").eval()  # ... and back again
    torch.testing.assert_close(back(ids), ours(ids), atol=1e-5, rtol=1e-5)


def test_save_pretrained_hf_refuses_what_no_architecture_holds(tmp_path):
    model = PicabooLM(PicabooLMParams.preset("tiny", norm="rmsnorm", device="cpu"))
    with pytest.raises(ValueError, match="norm='rmsnorm'"):
        model.save_pretrained(tmp_path, format="hf")


def test_hf_tokenizer_files(tmp_path):
    from picaboo.tokenizer import load_tokenizer
    from picaboo.data import shipped_dir
    tok = load_tokenizer(shipped_dir())
    model = PicabooLM(PicabooLMParams.preset("tiny", context_length=48, device="cpu"))
    model.save_pretrained(tmp_path, format="hf", tokenizer=tok)
    hf_tok = transformers.AutoTokenizer.from_pretrained(tmp_path)
    text = "The function returns a new list,  with 3 items!\n\n  def f(x):\treturn x ** 2  # ok<|endoftext|>Hi"
    assert hf_tok(text)["input_ids"] == tok.encode(text, allowed_special="all")
    assert hf_tok.eos_token_id == tok.eot_id and hf_tok.decode(tok.encode("héllo wörld")) == "héllo wörld"


ARCHITECTURES = [{}, {**SWITCHES["llama"], "num_kv_heads": 2}, {**SWITCHES["qwen3"], "num_kv_heads": 1},
                 {**SWITCHES["qwen3"], "num_kv_heads": 2, "head_size": 48}]


@pytest.fixture(scope="module")
def chat_tokenizer():
    from picaboo.chat import add_chat_tokens
    from picaboo.tokenizer import ENDOFTEXT, Tokenizer
    tok = Tokenizer(special_tokens=[ENDOFTEXT])
    tok.train("the cat sat on the mat. the dog sat on the log. " * 20, vocab_size=270)
    return add_chat_tokens(tok)


@pytest.mark.parametrize("switches", ARCHITECTURES)
def test_padded_batch_generation_cached_equals_uncached(switches):
    from picaboo.sampling import generate, left_pad
    torch.manual_seed(0)
    model = PicabooLM(PicabooLMParams.preset("tiny", context_length=24, device="cpu", **switches)).eval()
    prompts = [[5, 6, 7, 8, 9], [11, 12]]
    ids, mask = left_pad(prompts)
    cached = generate(model, ids, 16, temperature=0, attention_mask=mask)  # the cache holds kv_heads heads
    plain = generate(model, ids, 16, temperature=0, attention_mask=mask, use_cache=False)
    assert torch.equal(cached, plain)
    alone = generate(model, torch.tensor([prompts[1]]), 6, temperature=0)
    assert torch.equal(cached[1, 3:11], alone[0])  # the padded row writes what it writes alone


@pytest.mark.parametrize("switches", ARCHITECTURES)
def test_checkpoint_sample_cli_and_chat(tmp_path, switches, chat_tokenizer):
    import argparse
    import io
    from contextlib import redirect_stderr, redirect_stdout
    from picaboo.chat import chat
    from picaboo.checkpoint import save_checkpoint
    from picaboo.cli import run_command
    from picaboo.cli_sample import add_cli
    from picaboo.loading import load_model_and_tokenizer
    from picaboo.sampling import stream
    torch.manual_seed(0)
    params = PicabooLMParams.preset("tiny", context_length=32, vocab_size=chat_tokenizer.vocab_size, device="cpu",
                                    num_blocks=2, d_model=32, **switches)
    model = PicabooLM(params).eval()
    save_checkpoint(tmp_path / "ckpt" / "latest.pt", model, tokenizer=chat_tokenizer)
    model.save_pretrained(tmp_path / "hf", format="hf", tokenizer=chat_tokenizer)
    expected = "the" + "".join(stream(model, chat_tokenizer, "the", 8, temperature=0)) + "\n"
    parser = argparse.ArgumentParser(prog="picaboo")
    add_cli(parser.add_subparsers(dest="command"))
    for folder in (tmp_path / "ckpt", tmp_path / "hf"):
        out, err = io.StringIO(), io.StringIO()
        args = parser.parse_args(["sample", "--ckpt", str(folder), "--prompt", "the", "--max-new-tokens", "8",
                                  "--temperature", "0"])
        with redirect_stdout(out), redirect_stderr(err):
            status = run_command(args)
        assert status == 0 and out.getvalue() == expected, err.getvalue()
        loaded, tok = load_model_and_tokenizer(folder)
        messages = [{"role": "user", "content": "the cat"}]
        assert chat(loaded, tok, messages, max_new_tokens=6) == chat(model, chat_tokenizer, messages, max_new_tokens=6)


def test_sample_cli_says_when_a_folder_has_no_tokenizer(tmp_path):
    from picaboo.loading import load_model_and_tokenizer
    _, folder = build_hf("qwen3", tmp_path)
    with pytest.raises(FileNotFoundError, match="no tokenizer"):
        load_model_and_tokenizer(folder)


def test_ddp_with_llama_switches(tmp_path):
    "Two gloo ranks train the Qwen3 design (grouped-query, QK-norm, RMSNorm, SwiGLU, RoPE) like one process."
    test_ddp = pytest.importorskip("test_ddp")
    from picaboo.checkpoint import load_checkpoint
    qwen3 = 'num_heads=2, d_model=32, **SWITCHES["qwen3"], num_kv_heads=1)'
    script = test_ddp.SCRIPT.replace("num_heads=2, d_model=32)", qwen3)
    script = script.replace("from picaboo.model import PicabooLM, PicabooLMParams",
                            "from picaboo.model import SWITCHES, PicabooLM, PicabooLMParams")
    assert script != test_ddp.SCRIPT
    original = test_ddp.SCRIPT
    test_ddp.SCRIPT = script
    try:
        test_ddp._run([tmp_path / "ddp", 4], tmp_path, nproc=2)
        test_ddp._run([tmp_path / "single", 4], tmp_path, nproc=1)
    finally:
        test_ddp.SCRIPT = original
    ddp, single = load_checkpoint(tmp_path / "ddp"), load_checkpoint(tmp_path / "single")
    assert ddp["model_config"]["qk_norm"] and ddp["model_config"]["num_kv_heads"] == 1
    torch.testing.assert_close(torch.tensor(ddp["history"]["loss"]), torch.tensor(single["history"]["loss"]),
                               rtol=1e-5, atol=1e-5)


def test_gpt2_with_another_layer_norm_eps_both_ways(tmp_path):
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_positions=32, n_embd=32, n_layer=2, n_head=4, vocab_size=97,
                                     layer_norm_epsilon=1e-2)  # a large eps, so a wrong one shows
    hf = transformers.GPT2LMHeadModel(config).eval()
    hf.save_pretrained(tmp_path / "hf")
    ours = PicabooLM.from_pretrained(tmp_path / "hf", device="cpu").eval()
    ids = torch.randint(0, 97, (2, 20))
    assert ours.params.norm_eps == 1e-2 and (ours(ids) - hf_logits(hf, ids)).abs().max().item() < 1e-4
    ours.save_pretrained(tmp_path / "back", format="hf")
    again = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "back").eval()
    assert (ours(ids) - hf_logits(again, ids)).abs().max().item() < 1e-4
