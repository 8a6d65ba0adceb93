"Exported from the book's notebooks by nbdev: edit the notebook, not this file."

__all__ = ['CONFIG_NAME', 'WEIGHTS_NAME', 'saved_state', 'fitting_state', 'read_config', 'read_weights']

# %% ../nbs/06_model.ipynb #4b1fea71
import json
from pathlib import Path

import torch
from safetensors.torch import load_file

CONFIG_NAME, WEIGHTS_NAME = "config.json", "model.safetensors"

def saved_state(model:torch.nn.Module) -> dict:
    "The model's tensors as they go into a file: on the CPU, contiguous, the tied head left out."
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if model.params.tie_weights:
        state.pop("lm_head.weight", None)  # the same tensor as tok_emb.weight
    return state

def _state_differences(model:torch.nn.Module, # the model to load into
                     state:dict, # name -> tensor, from a checkpoint
                     source:str="checkpoint", # how to name the checkpoint in messages
                    ) -> list[str]:
    "Every difference between `state` and the model's parameters, as readable lines (empty: they match)."
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    if model.params.tie_weights:
        shapes.pop("lm_head.weight", None)
    problems = [f"missing in {source}: {k} {tuple(s)}" for k, s in shapes.items() if k not in state]
    problems += [f"unexpected in {source}: {k} {tuple(v.shape)}" for k, v in state.items() if k not in shapes]
    problems += [f"shape of {k}: {source} {tuple(state[k].shape)}, model {tuple(s)}"
                 for k, s in shapes.items() if k in state and state[k].shape != s]
    return problems

def fitting_state(model:torch.nn.Module, state:dict, # the model, and the tensors read from `path`
                  strict:bool, # True: any difference is an error; False: keep only the tensors that fit
                  path:Path, # the weights file, for messages
                 ) -> dict:
    "The tensors of `state` to load into `model`, or a ValueError listing every difference."
    problems = _state_differences(model, state)
    if problems and strict:
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        listed = "\n  ".join(problems[:10])
        raise ValueError(f"{path} does not match {path.parent / CONFIG_NAME}:\n  {listed}{more}")
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    return {k: v for k, v in state.items() if k in shapes and v.shape == shapes[k]}

def read_config(directory:Path, # a model folder
                expected:dict|None=None, # values the caller relies on, e.g. {"vocab_size": 2048}
               ) -> dict:
    "The config.json of a model folder; one clear line if it is missing, broken, or lacks the `expected` values."
    path = directory / CONFIG_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no {CONFIG_NAME} in {directory}: not a saved PicabooLM (save_pretrained writes one)")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON ({e}): save the model again") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} holds a {type(config).__name__}, not a model configuration: save the model again")
    expected = expected or {}
    if unknown := sorted(set(expected) - set(config)):
        raise ValueError(f"unknown PicabooLMParams field(s) {unknown}")
    if diffs := [f"{k}: checkpoint {config[k]!r}, expected {v!r}" for k, v in expected.items() if config[k] != v]:
        raise ValueError(f"{directory} does not fit: " + "; ".join(diffs))
    return config

def read_weights(path:Path, # a .safetensors file, or a PyTorch .bin (read with weights_only: no code runs)
                ) -> dict:
    "The tensors in a weights file, by name; one clear line if the file is missing, damaged or not weights."
    if not path.is_file():
        raise FileNotFoundError(f"no {path.name} in {path.parent}: the weights are missing; save the model again")
    try:
        if path.suffix == ".safetensors":
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a damaged file fails in many ways: SafetensorError, EOFError, RuntimeError, ...
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise ValueError(f"{path} is damaged or not a weights file ({reason}); save or download it again") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} holds no named tensors: it is not a weights file; save or download it again")
    return state