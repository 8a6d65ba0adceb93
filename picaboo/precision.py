__all__ = ['PRECISIONS', 'pick_precision', 'autocast', 'seed_everything']

# %% ../nbs/07_training.ipynb #4cf8aeda
import random
from contextlib import nullcontext

import numpy as np
import torch

# %% ../nbs/07_training.ipynb #6285051f
PRECISIONS = ("auto", "bf16", "fp16", "fp32")  # "auto": bf16 on CUDA if supported, else fp32

def pick_precision(device:str, # the training device
                   precision:str="auto", # one of PRECISIONS
                  ) -> str:
    "Resolve 'auto' and refuse combinations that cannot work (fp16 needs CUDA and its GradScaler)."
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    cuda = str(device).startswith("cuda")
    if precision == "auto":
        return "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    if precision == "fp16" and not cuda:
        raise ValueError(f"fp16 training needs CUDA (loss scaling with a GradScaler); on {device} use bf16 or fp32")
    return precision

def autocast(device:str, # where the model runs
             precision:str, # a resolved precision: "bf16", "fp16" or "fp32"
            ):
    "The autocast context for a resolved precision (a no-op for fp32)."
    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)

def seed_everything(seed:int, # the run's seed
                   ):
    "Seed Python's, NumPy's and torch's random number generators (all CUDA devices too)."
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)