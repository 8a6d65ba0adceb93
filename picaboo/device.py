"Exported from the book's notebooks by nbdev: edit the notebook, not this file."

__all__ = ['pick_device']

# %% ../nbs/06_model.ipynb #be4dd5ac
import torch

def pick_device(device:str|None=None, # "cuda", "cuda:1", "mps", "cpu"; None or "auto" picks the best one here
               ) -> str:
    "The device to use: the one asked for if this machine has it, else CUDA, then Apple MPS, then the CPU."
    if device in (None, "auto"):
        if torch.cuda.is_available():
            return "cuda"
        if torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise ValueError(f"device {device!r} is not a device name; use 'cpu', 'cuda', 'cuda:N', 'mps' "
                         "or 'auto'") from None
    available = {"cpu": True, "meta": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not available.get(kind, False):
        raise ValueError(f"device {device!r} is not available on this machine; use 'cpu' or 'auto' (the best one here)")
    return str(device)