"""PicabooLM beyond the notebook's checks: bf16 safety, torch.compile graph capture, devices, generation, resizing,
cache ops."""
import json

import pytest
import torch

from picaboo.attention import KVCache
from picaboo.device import pick_device
from picaboo.model import PicabooLM, PicabooLMParams

ENCODINGS = ["learned", "sinusoidal", "rope"]


def tiny(**kw):
    torch.manual_seed(0)
    return PicabooLM(PicabooLMParams.preset("tiny", context_length=32, device="cpu", **kw)).eval()


@pytest.mark.parametrize("pos_encoding", ENCODINGS)
def test_bf16_autocast_with_cache_and_mask(pos_encoding):
    m = tiny(pos_encoding=pos_encoding)
    x = torch.randint(0, 2048, (2, 10))
    mask = torch.ones(2, 10, dtype=torch.long); mask[0, :3] = 0
    with torch.autocast("cpu", dtype=torch.bfloat16):
        cache = m.new_kv_cache(2)
        logits = m(x, kv_cache=cache, attention_mask=mask)
        step = m(x[:, :1], kv_cache=cache, attention_mask=torch.cat([mask, torch.ones(2, 1, dtype=torch.long)], 1))
    assert logits.dtype == torch.bfloat16 and step.shape == (2, 1, 2048)
    assert cache.keys[0].dtype == torch.bfloat16 and torch.isfinite(step.float()).all()
    ref = m(x, attention_mask=mask)
    assert (logits.float() - ref).abs().max() < 0.1


@pytest.mark.parametrize("pos_encoding", ENCODINGS)
def test_bf16_weights(pos_encoding):
    m = tiny(pos_encoding=pos_encoding).to(torch.bfloat16)
    assert m.lm_head.weight is m.tok_emb.weight  # still tied after the dtype change
    x = torch.randint(0, 2048, (2, 12))
    logits, loss = m(x, x)
    assert logits.dtype == torch.bfloat16 and torch.isfinite(loss)
    loss.backward()


@pytest.mark.parametrize("pos_encoding", ENCODINGS)
def test_compile_captures_one_graph(pos_encoding):
    m = tiny(pos_encoding=pos_encoding).train()
    compiled = torch.compile(m, backend="eager", fullgraph=True)  # fullgraph: any graph break is an error
    x = torch.randint(0, 2048, (2, 16))
    _, loss = compiled(x, x)
    _, ref = m(x, x)
    torch.testing.assert_close(loss, ref)


def test_device_errors():
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available"):
            PicabooLM(PicabooLMParams.preset("tiny", device="cuda"))
    assert PicabooLM(PicabooLMParams.preset("tiny", device="auto")).device.type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="not a device name"):
        PicabooLMParams(device="gpu")


def test_device_is_placement_not_shape(tmp_path):
    params = PicabooLMParams.preset("tiny", context_length=32)
    assert params.device is None and "device" not in params.to_dict()
    assert params == PicabooLMParams.preset("tiny", context_length=32, device="cpu")  # equal: same shape
    model = PicabooLM(params)
    assert model.device.type == pick_device().split(":")[0]  # None: the best device here (CUDA where there is one)
    assert model.config is model.params  # nanoGPT's name
    cpu_model = PicabooLM(PicabooLMParams.preset("tiny", context_length=32, device="cpu"))
    cpu_model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert "device" not in saved and saved["model_type"] == "picaboo"
    saved["device"] = "cuda:7"  # an older config.json recorded where the model was trained
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert PicabooLM.from_pretrained(tmp_path, device="cpu").device.type == "cpu"


def test_generate_is_a_plain_sampling_loop():
    m = tiny()
    prompt = torch.randint(0, 2048, (2, 4))
    greedy = m.generate(prompt, max_new_tokens=6, temperature=0)
    assert greedy.shape == (2, 10) and torch.equal(greedy[:, :4], prompt)
    step = prompt
    for _ in range(6):  # greedy, by hand: the most likely next token, six times
        step = torch.cat([step, m(step)[:, -1].argmax(-1, keepdim=True)], 1)
    assert torch.equal(greedy, step)
    torch.manual_seed(0)
    sampled = m.generate(prompt, max_new_tokens=40, temperature=1.5, top_k=3)  # 44 > context_length 32: cropped
    assert sampled.shape == (2, 44) and not m.training
    dropout_model = PicabooLM(PicabooLMParams.preset("tiny", context_length=32, dropout_rate=0.5, device="cpu")).train()
    first = dropout_model.generate(prompt, max_new_tokens=5, temperature=0)
    assert dropout_model.training and torch.equal(first, dropout_model.generate(prompt, 5, temperature=0))  # no dropout
    for i in range(4, 30):  # each sampled token was among the 3 best at its step (temperature keeps the order)
        best3 = m(sampled[:, :i])[:, -1].topk(3).indices  # (B, 3)
        assert (best3 == sampled[:, i:i + 1]).any(-1).all()


def test_params_errors():
    with pytest.raises(ValueError, match="unknown preset"):
        PicabooLMParams.preset("huge")
    with pytest.raises(ValueError, match="unknown PicabooLMParams field"):
        PicabooLMParams.from_dict({"vocab_size": 10, "n_layer": 2})
    with pytest.raises(ValueError, match="even head size"):
        PicabooLMParams(d_model=12, num_heads=4, pos_encoding="rope")
    with pytest.raises(ValueError, match="dropout_rate"):
        PicabooLMParams(dropout_rate=1.0)


def test_context_overflow_is_a_clear_error():
    m = tiny()
    with pytest.raises(ValueError, match="exceed context_length 32"):
        m(torch.zeros(1, 33, dtype=torch.long))
    cache = m.new_kv_cache(1)
    m(torch.zeros(1, 30, dtype=torch.long), kv_cache=cache)
    with pytest.raises(ValueError, match="30 cached"):
        m(torch.zeros(1, 3, dtype=torch.long), kv_cache=cache)
    with pytest.raises(ValueError, match="attention_mask must have shape"):
        m(torch.zeros(1, 2, dtype=torch.long), kv_cache=cache, attention_mask=torch.ones(1, 2))


@pytest.mark.parametrize("tie_weights", [True, False])
def test_resize_token_embeddings(tmp_path, tie_weights):
    m = tiny(tie_weights=tie_weights)
    x = torch.randint(0, 2048, (1, 8))
    before = m(x)
    m.resize_token_embeddings(2050)
    assert m.params.vocab_size == 2050 and m.tok_emb.weight.shape == (2050, 128)
    assert (m.lm_head.weight is m.tok_emb.weight) == tie_weights
    torch.testing.assert_close(m(x)[..., :2048], before)
    m.save_pretrained(tmp_path)
    again = PicabooLM.from_pretrained(tmp_path, device="cpu", vocab_size=2050)
    torch.testing.assert_close(again(x), m(x))
    with pytest.raises(ValueError, match="grow"):
        m.resize_token_embeddings(100)


@pytest.mark.parametrize("tie_weights", [True, False])
def test_padded_vocabulary(tmp_path, tie_weights):
    "vocab_multiple: tables rounded up, logits and loss of the real vocabulary, growing keeps the padding."
    m = tiny(vocab_size=2000, vocab_multiple=64, tie_weights=tie_weights)
    assert m.tok_emb.weight.shape == (2048, 128) and m.lm_head.weight.shape == (2048, 128)
    x, y = torch.randint(0, 2000, (2, 8)), torch.randint(0, 2000, (2, 8))
    logits, loss = m(x, y)
    assert logits.shape == (2, 8, 2000)
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten()))
    with torch.no_grad():  # the padded rows: huge scores that would win every argmax if they were not cut off
        m.lm_head.weight[2000:] = 100.0
    torch.testing.assert_close(m(x), logits)
    m.resize_token_embeddings(2050)  # 2050 rounds up to 2112 rows; the new tokens get fresh rows, not the padding's
    assert m.tok_emb.weight.shape == (2112, 128) and m(x).shape == (2, 8, 2050)
    assert m.tok_emb.weight[2000:2050].abs().max() < 1.0
    torch.testing.assert_close(m(x)[..., :2000], logits)
    m.save_pretrained(tmp_path)
    again = PicabooLM.from_pretrained(tmp_path, device="cpu")
    assert again.params == m.params
    torch.testing.assert_close(again.eval()(x), m(x))


def test_cache_crop_and_select():
    m = tiny(pos_encoding="rope")
    x = torch.randint(0, 2048, (3, 12))
    full = m(x)
    cache = m.new_kv_cache(3)
    m(x[:, :10], kv_cache=cache)
    cache.crop(8)  # forget two tokens, feed them again
    torch.testing.assert_close(m(x[:, 8:], kv_cache=cache), full[:, 8:], atol=1e-5, rtol=1e-5)
    cache.crop(11).select(torch.tensor([2, 0]))  # keep rows 2 and 0 (beam search reorders like this)
    torch.testing.assert_close(m(x[[2, 0], 11:], kv_cache=cache), full[[2, 0], 11:], atol=1e-5, rtol=1e-5)
    assert isinstance(cache, KVCache) and cache.length == 12


def test_dropout_is_only_active_in_training():
    m = tiny()
    m.params.dropout_rate  # tiny has no dropout; build one that has
    d = PicabooLM(PicabooLMParams.preset("tiny", dropout_rate=0.5, context_length=32, device="cpu"))
    x = torch.randint(0, 2048, (1, 8))
    d.eval()
    torch.testing.assert_close(d(x), d(x))
    d.train()
    assert not torch.allclose(d(x), d(x))


@pytest.mark.parametrize("pos_encoding,tie_weights", [("learned", False), ("sinusoidal", True), ("rope", True)])
def test_save_load_round_trip(tmp_path, pos_encoding, tie_weights):
    m = tiny(pos_encoding=pos_encoding, tie_weights=tie_weights)
    m.save_pretrained(tmp_path)
    again = PicabooLM.from_pretrained(tmp_path, device="cpu")
    x = torch.randint(0, 2048, (2, 9))
    torch.testing.assert_close(again.eval()(x), m(x))
    assert again.params == m.params


def test_non_strict_load_keeps_what_matches(tmp_path):
    m = tiny()
    m.save_pretrained(tmp_path)
    cfg = tmp_path / "config.json"
    cfg.write_text(cfg.read_text().replace('"num_blocks": 4', '"num_blocks": 5'))
    with pytest.raises(ValueError, match="missing in checkpoint: blocks.4"):
        PicabooLM.from_pretrained(tmp_path, device="cpu")
    loose = PicabooLM.from_pretrained(tmp_path, device="cpu", strict=False)
    torch.testing.assert_close(loose.blocks[3].mlp.fc.weight, m.blocks[3].mlp.fc.weight)
    assert loose.params.num_blocks == 5


@pytest.mark.parametrize("change,message", [
    (dict(num_heads=3), r"valid num_heads for d_model=128: \[1, 2, 4, 8, 16, 32, 64, 128\]"),
    (dict(num_kv_heads=3), r"valid num_kv_heads for num_heads=4: \[1, 2, 4\]"),
    (dict(norm="batchnorm"), r"norm must be one of \('layernorm', 'rmsnorm'\)"),
    (dict(mlp="relu"), r"mlp must be one of \('gelu', 'swiglu'\)"),
    (dict(pos_encoding="alibi"), r"pos_encoding must be one of \('learned', 'sinusoidal', 'rope'\)"),
    (dict(mlp_hidden=0), "mlp_hidden must be a positive integer")])
def test_switches_are_checked_when_built_and_when_changed(change, message):
    with pytest.raises(ValueError, match=message):
        PicabooLMParams.preset("tiny", **change)
    p = PicabooLMParams.preset("tiny")
    (field, value), = change.items()
    with pytest.raises(ValueError, match=message):
        setattr(p, field, value)
    assert p == PicabooLMParams.preset("tiny")  # the bad value was undone


def test_presets_and_switches():
    from picaboo.model import PRESETS, SWITCHES
    assert set(PRESETS) >= {"tiny", "gpt2", "llama", "qwen3"}
    llama = PicabooLMParams.preset("tiny", **SWITCHES["llama"])
    assert (llama.d_model, llama.norm, llama.mlp, llama.pos_encoding, llama.tie_weights) == (128, "rmsnorm", "swiglu",
                                                                                            "rope", False)
    assert llama.hidden_width == 352 and PicabooLMParams.preset("tiny").hidden_width == 512  # 8/3 * 128 -> 32k
    assert PicabooLMParams.preset("gpt2").hidden_width == 3072 and PicabooLMParams.preset("llama").hidden_width == 2048
    assert PicabooLMParams.preset("qwen3").kv_heads == 4 and PicabooLMParams.preset("gpt2").kv_heads == 12
    old = {k: v for k, v in PicabooLMParams.preset("tiny").to_dict().items() if k not in SWITCHES["qwen3"]}
    old.pop("mlp_hidden")
    old.pop("num_kv_heads")
    assert PicabooLMParams.from_dict(old) == PicabooLMParams.preset("tiny")  # a config.json from before the switches


@pytest.mark.parametrize("switches", [dict(norm="rmsnorm", mlp="swiglu", num_kv_heads=2, qk_norm=True,
                                           head_size=48),
                                      dict(pos_encoding="rope", rope_base=1e6, tie_weights=False, bias=False)])
def test_save_and_load_with_switches(tmp_path, switches):
    m = tiny(**switches)
    m.save_pretrained(tmp_path)
    loaded = PicabooLM.from_pretrained(tmp_path, device="cpu")
    x = torch.randint(0, m.params.vocab_size, (2, 10))
    assert loaded.params == m.params
    torch.testing.assert_close(loaded(x), m(x))


@pytest.mark.parametrize("name", ["bias", "tie_weights", "qk_norm"])
def test_switches_are_true_or_false(name):
    "A switch given 'auto' (the command line's word) or 1 is refused in one line, at construction and on assignment."
    from picaboo.model_params import PicabooLMParams
    with pytest.raises(ValueError, match=f"{name} must be True or False"):
        PicabooLMParams.preset("tiny", **{name: "auto"})
    params = PicabooLMParams.preset("tiny")
    with pytest.raises(ValueError, match=f"{name} must be True or False"):
        setattr(params, name, 1)
