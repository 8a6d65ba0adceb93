__all__ = ['count_bytes', 'validation_metrics', 'evaluate']

# %% ../nbs/07_training.ipynb #949fc9c7
import math

import torch
import torch.nn.functional as F
from torch import nn

from .model import IGNORE_INDEX
from .optim import logits_of
from .precision import autocast

# %% ../nbs/07_training.ipynb #e66d502f
def count_bytes(tokenizer, # has `decode(ids) -> str`; None: bytes unknown
                y:torch.Tensor, # target ids (B, T); negative ids (IGNORE_INDEX) are skipped
               ) -> int|None:
    "UTF-8 bytes of the text the targets spell, row by row (for bits per byte)."
    if tokenizer is None:
        return None
    to_bytes = getattr(tokenizer, "decode_bytes", None) or (lambda ids: tokenizer.decode(ids).encode("utf-8"))
    return sum(len(to_bytes([t for t in row if t >= 0])) for row in y.tolist())

def validation_metrics(nats:float, # summed cross-entropy over all target tokens
                       tokens:int, # target tokens counted
                       n_bytes:int|None=None, # text bytes they cover (None: no bits per byte)
                      ) -> dict:
    "Loss per token, perplexity and bits per byte from summed nats."
    loss = nats / max(tokens, 1)
    bpb = nats / n_bytes / math.log(2) if n_bytes else float("nan")
    return {"loss": loss, "perplexity": math.exp(min(loss, 50)), "bits_per_byte": bpb, "tokens": tokens}

@torch.no_grad()
def evaluate(model:nn.Module, # returns logits, or (logits, loss)
             batches:list, # [(x, y), ...] fixed validation batches
             device:str="cpu", # where to run
             precision:str="fp32", # resolved precision (autocast)
             n_bytes:int|None=None, # text bytes the targets cover (for bits per byte)
            ) -> dict:
    "Validation loss (nats/token), perplexity and bits per byte over `batches`."
    was_training = model.training
    model.eval()
    nats, tokens = 0.0, 0
    for x, y in batches:
        x, y = x.to(device), y.to(device)
        with autocast(device, precision):
            logits = logits_of(model(x))  # (B, T, V)
        flat = logits.float().flatten(0, 1)  # (B*T, V)
        nats += F.cross_entropy(flat, y.flatten(), ignore_index=IGNORE_INDEX, reduction="sum").item()
        tokens += int((y != IGNORE_INDEX).sum())
    model.train(was_training)
    return validation_metrics(nats, tokens, n_bytes)