"""PicabooLM.from_hf_gpt2 gives transformers' GPT2LMHeadModel logits (random small GPT-2, no download)."""
import pytest
import torch

from picaboo.model import PicabooLM

transformers = pytest.importorskip("transformers", reason="transformers is a test-only dependency")


def _hf_gpt2(tmp_path, safe_serialization, **overrides):
    config = transformers.GPT2Config(n_positions=64, n_embd=48, n_layer=3, n_head=4, vocab_size=97, **overrides)
    torch.manual_seed(0)
    hf = transformers.GPT2LMHeadModel(config).eval()
    folder = tmp_path / ("safe" if safe_serialization else "bin")
    hf.save_pretrained(folder)
    if not safe_serialization:  # the older PyTorch format (transformers 5 writes safetensors only)
        torch.save(hf.state_dict(), folder / "pytorch_model.bin")
        (folder / "model.safetensors").unlink()
    return hf, folder


@pytest.mark.parametrize("safe_serialization", [True, False])
def test_from_hf_gpt2_matches_transformers(tmp_path, safe_serialization):
    hf, folder = _hf_gpt2(tmp_path, safe_serialization)
    assert (folder / ("model.safetensors" if safe_serialization else "pytorch_model.bin")).is_file()
    ours = PicabooLM.from_hf_gpt2(folder, device="cpu").eval()
    idx = torch.randint(0, 97, (2, 40))
    with torch.no_grad():
        torch.testing.assert_close(ours(idx), hf(idx).logits, atol=1e-4, rtol=1e-4)
        # from_pretrained recognises a GPT-2 folder too
        again = PicabooLM.from_pretrained(folder, device="cpu").eval()
        torch.testing.assert_close(again(idx), hf(idx).logits, atol=1e-4, rtol=1e-4)


def test_from_hf_gpt2_kv_cache_matches(tmp_path):
    hf, folder = _hf_gpt2(tmp_path, True)
    ours = PicabooLM.from_hf_gpt2(folder, device="cpu").eval()
    idx = torch.randint(0, 97, (1, 20))
    with torch.no_grad():
        cache = ours.new_kv_cache(1)
        steps = [ours(idx[:, :10], kv_cache=cache)] + [ours(idx[:, i:i + 1], kv_cache=cache) for i in range(10, 20)]
        torch.testing.assert_close(torch.cat(steps, 1), hf(idx).logits, atol=1e-4, rtol=1e-4)


def test_unsupported_gpt2_variant_is_refused(tmp_path):
    _, folder = _hf_gpt2(tmp_path, True, activation_function="relu")
    with pytest.raises(ValueError, match="activation"):
        PicabooLM.from_hf_gpt2(folder, device="cpu")


def test_damaged_weights_are_one_clear_line(tmp_path):
    _, folder = _hf_gpt2(tmp_path, False)
    (folder / "pytorch_model.bin").write_bytes(b"not a pickle at all")
    with pytest.raises(ValueError, match=r"pytorch_model\.bin is damaged or not a weights file .*download it again"):
        PicabooLM.from_hf_gpt2(folder, device="cpu")
    torch.save({"wte.weight": [1, 2, 3]}, folder / "pytorch_model.bin")  # loads, but holds no tensors
    with pytest.raises(ValueError, match="holds no named tensors"):
        PicabooLM.from_hf_gpt2(folder, device="cpu")
