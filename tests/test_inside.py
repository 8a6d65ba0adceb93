"""picaboo.inside beyond the notebook's checks: every position encoding, hooks always removed, clear errors."""
from pathlib import Path

import matplotlib
import pytest
import torch

from picaboo.inside import (embedding_map, head_scores, lens_losses, logit_lens, nearest_tokens, plot_head_scores,
                            residual_stream, single_token_id)
from picaboo.model import PicabooLM, PicabooLMParams
from picaboo.tokenizer import Tokenizer

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parent.parent


def tiny(**overrides):
    torch.manual_seed(0)
    params = PicabooLMParams.preset("tiny", context_length=32, num_blocks=2, d_model=64, **overrides)
    return PicabooLM(params).eval()


@pytest.mark.parametrize("pos_encoding", ["learned", "sinusoidal", "rope"])
def test_logit_lens_ends_at_the_model_output(pos_encoding):
    model = tiny(pos_encoding=pos_encoding)
    idx = torch.randint(0, 2048, (2, 12))
    lens = logit_lens(model, idx)
    assert lens.shape == (3, 2, 12, 2048)
    with torch.no_grad():
        torch.testing.assert_close(lens[-1], model(idx))
    losses = lens_losses(lens, idx)
    assert len(losses) == 3 and all(loss > 0 for loss in losses)


def test_hooks_are_removed_even_when_the_forward_pass_fails():
    model = tiny()
    with pytest.raises(ValueError, match="context_length"):
        residual_stream(model, torch.zeros(1, 33, dtype=torch.long))  # one token too many
    assert len(residual_stream(model, torch.zeros(1, 4, dtype=torch.long))) == 3
    for block in model.blocks:
        assert not block._forward_hooks and not block._forward_pre_hooks


def test_head_scores_shapes_and_range():
    model = tiny(num_heads=2)
    scores = head_scores(model, torch.randint(0, 2048, (3, 16)), length=8)
    assert set(scores) == {"previous-token", "induction"}
    for grid in scores.values():
        assert grid.shape == (2, 2) and ((grid >= 0) & (grid <= 1)).all()
    fig = plot_head_scores({f"untrained: {name}": grid for name, grid in scores.items()})
    assert len(fig.axes) == 2


def test_embeddings_with_an_untied_head():
    model = tiny(tie_weights=False)
    tokenizer = Tokenizer.load(ROOT / "models")
    neighbours = nearest_tokens(model, tokenizer, " the", k=5)
    assert len(neighbours) == 5 and " the" not in [text for text, _ in neighbours]
    assert embedding_map(model, list(range(50))).shape == (50, 2)


def test_single_token_id_names_the_pieces():
    tokenizer = Tokenizer.load(ROOT / "models")
    assert tokenizer.decode([single_token_id(tokenizer, " the")]) == " the"
    with pytest.raises(ValueError, match="not one"):
        single_token_id(tokenizer, " antidisestablishmentarianism")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_model_on_the_gpu():
    model = tiny().to("cuda")
    idx = torch.randint(0, 2048, (2, 16), device="cuda")
    scores = head_scores(model, idx, length=8)
    assert scores["induction"].shape == (2, 4)
    assert logit_lens(model, idx).device.type == "cuda"
    assert embedding_map(model, list(range(20))).shape == (20, 2)
