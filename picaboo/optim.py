__all__ = ['configure_adamw_optimizer', 'cosine_lr', 'TrainingDiverged', 'logits_of', 'train_step']

# %% ../nbs/07_training.ipynb #b9786f14
import inspect
import math
from contextlib import nullcontext

import torch
from torch import nn

from .model import IGNORE_INDEX

# %% ../nbs/07_training.ipynb #89510918
def configure_adamw_optimizer(model:nn.Module, # the model to optimize
                              weight_decay:float, # decay for matrices (dim >= 2); biases and norms get none
                              learning_rate:float, # initial learning rate (the schedule overrides it each step)
                              betas:tuple=(0.9, 0.95), # AdamW's averaging factors for the gradient and its square
                              eps:float=1e-8, # added to the denominator for stability
                              device_type:str="cpu", # "cuda" uses the fused kernel
                             ) -> torch.optim.AdamW:
    "AdamW with two groups: weight decay on parameters with 2+ dims, none on biases and LayerNorm weights."
    params = [p for p in model.parameters() if p.requires_grad]  # tied weights appear once
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    extra = {}
    if str(device_type).startswith("cuda") and "fused" in inspect.signature(torch.optim.AdamW).parameters:
        extra["fused"] = True
    return torch.optim.AdamW(groups, lr=learning_rate, betas=tuple(betas), eps=eps, **extra)

# %% ../nbs/07_training.ipynb #69ccf045
def cosine_lr(step:int, # optimizer steps done so far (0-based)
              max_learning_rate:float=6e-4, # peak LR, reached at the end of warmup
              min_learning_rate:float=6e-5, # floor, reached at total_steps and kept after
              warmup_steps:int=50, # linear warmup length
              total_steps:int=200, # where the cosine reaches the floor
             ) -> float:
    "Linear warmup to `max_learning_rate`, then cosine decay to `min_learning_rate` at `total_steps`."
    if step < warmup_steps:
        return max_learning_rate * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_learning_rate
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)  # 0 -> 1
    return min_learning_rate + 0.5 * (1 + math.cos(math.pi * progress)) * (max_learning_rate - min_learning_rate)

# %% ../nbs/07_training.ipynb #1f1d0c51
class TrainingDiverged(FloatingPointError):
    "The loss or gradient became NaN or inf; the optimizer did not apply it."

def logits_of(output):
    "Logits from a model's output: a tensor, or the first item of a (logits, loss) tuple."
    return output[0] if isinstance(output, (tuple, list)) else output

def train_step(model:nn.Module, # returns logits (B, T, V), or (logits, loss)
               optimizer:torch.optim.Optimizer, # its learning rate already set for this step
               micro_batches:list, # k (x, y) pairs on the model's device: one step's worth of data
               loss_fn=None, # loss(logits (N, V), targets (N,)) as a mean over N; None: cross-entropy
               grad_clip:float|None=None, # clip the global gradient norm to this (None: no clipping)
               scaler=None, # a GradScaler for fp16 (None: no loss scaling)
               autocast_context=nullcontext, # makes the context forward passes run in (see `autocast`)
               no_sync=None, # makes the context of a micro-batch whose gradients stay local (DDP's `no_sync`)
               average=None, # averages the loss over processes (DDP); None: this process's loss
               parameters=None, # the parameters to clip (default: the model's)
              ) -> tuple[float, float]:
    "One optimizer step over k micro-batches; returns (mean loss, gradient norm before clipping)."
    k = len(micro_batches)
    loss_fn = loss_fn or nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX)
    scaler = scaler or torch.amp.GradScaler("cpu", enabled=False)  # disabled: passes everything through
    total = torch.zeros((), device=micro_batches[0][0].device)
    for i, (x, y) in enumerate(micro_batches):
        keep_local = no_sync is not None and i < k - 1  # DDP: all-reduce once, after the last micro-batch
        with no_sync() if keep_local else nullcontext():
            with autocast_context():
                logits = logits_of(model(x))  # (B, T, V)
                loss = loss_fn(logits.flatten(0, 1).float(), y.flatten())  # mean over this micro-batch
            scaler.scale(loss / k).backward()  # k means add up to k times the big batch's mean: divide by k
        total += loss.detach()
    mean_loss = total / k
    if average is not None:
        mean_loss = average(mean_loss)
    loss = mean_loss.item()
    scaler.unscale_(optimizer)  # clip the true gradient, not the fp16-scaled one
    parameters = list(model.parameters() if parameters is None else parameters)
    norm = torch.nn.utils.clip_grad_norm_(parameters, grad_clip or float("inf")).item()
    if not math.isfinite(loss) or (not scaler.is_enabled() and not math.isfinite(norm)):
        optimizer.zero_grad(set_to_none=True)  # fp16 is exempt from the norm check: its scaler skips such steps
        raise TrainingDiverged(f"the loss became {loss} (gradient norm {norm})")
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    return loss, norm