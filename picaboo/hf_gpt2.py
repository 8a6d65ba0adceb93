"Exported from the book's notebooks by nbdev: edit the notebook, not this file."

__all__ = ['HF_GPT2_RENAMES', 'HF_CONV1D', 'HF_WEIGHTS', 'hf_gpt2_fields', 'hf_gpt2_weights', 'hf_gpt2_state_dict']

# %% ../nbs/06_model.ipynb #fb5a9455
import re
from pathlib import Path

HF_GPT2_RENAMES = [  # (regex on a Hugging Face GPT-2 name, picaboo name)
    (r"wte\.weight", "tok_emb.weight"), (r"wpe\.weight", "pos_emb.weight"),
    (r"h\.(\d+)\.ln_1\.", r"blocks.\1.ln1."), (r"h\.(\d+)\.ln_2\.", r"blocks.\1.ln2."),
    (r"h\.(\d+)\.attn\.c_attn\.", r"blocks.\1.attn.qkv."), (r"h\.(\d+)\.attn\.c_proj\.", r"blocks.\1.attn.proj."),
    (r"h\.(\d+)\.mlp\.c_fc\.", r"blocks.\1.mlp.fc."), (r"h\.(\d+)\.mlp\.c_proj\.", r"blocks.\1.mlp.proj."),
    (r"ln_f\.", "ln_f."),
]
HF_CONV1D = ("attn.qkv.weight", "attn.proj.weight", "mlp.fc.weight", "mlp.proj.weight")  # stored transposed
HF_WEIGHTS = ("model.safetensors", "pytorch_model.bin")  # what Hugging Face saves, newest format first

def hf_gpt2_fields(config:dict, # a Hugging Face GPT-2 config.json, as a dict
                  ) -> dict:
    "The PicabooLMParams fields of a Hugging Face GPT-2 config; raises for variants this model does not implement."
    activation = config.get("activation_function", "gelu_new")
    if activation not in ("gelu_new", "gelu_pytorch_tanh"):
        raise ValueError(f"GPT-2 activation {activation!r} is not supported (only the tanh GELU, 'gelu_new')")
    d = config["n_embd"]
    if config.get("n_inner") not in (None, 4 * d):
        raise ValueError(f"n_inner={config['n_inner']} is not supported (only 4 * n_embd)")
    if config.get("scale_attn_by_inverse_layer_idx"):
        raise ValueError("scale_attn_by_inverse_layer_idx=True is not supported")
    if abs(config.get("layer_norm_epsilon", 1e-5) - 1e-5) > 1e-12:
        raise ValueError("only layer_norm_epsilon=1e-5 is supported")
    return dict(context_length=config.get("n_positions", config.get("n_ctx", 1024)), vocab_size=config["vocab_size"],
                num_blocks=config["n_layer"], num_heads=config["n_head"], d_model=d,
                dropout_rate=config.get("resid_pdrop", 0.1), bias=True, pos_encoding="learned", tie_weights=True)

def hf_gpt2_weights(folder:Path, # a Hugging Face GPT-2 folder
                        ) -> Path:
    "The weights file of a Hugging Face folder: model.safetensors if there is one, else pytorch_model.bin."
    for name in HF_WEIGHTS:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"no {' or '.join(HF_WEIGHTS)} in {folder}: not a Hugging Face GPT-2 folder")

def _hf_gpt2_name(name:str, # a Hugging Face GPT-2 tensor name, without "transformer."
                ) -> str:
    "PicabooLM's name for a GPT-2 tensor: 'h.3.attn.c_attn.weight' -> 'blocks.3.attn.qkv.weight'."
    for pattern, replacement in HF_GPT2_RENAMES:
        if re.match(pattern, name):
            return re.sub(pattern, replacement, name, count=1)
    raise ValueError(f"unexpected tensor {name!r} in a GPT-2 checkpoint")

def hf_gpt2_state_dict(state:dict) -> dict:
    "Rename (and transpose) a Hugging Face GPT-2 state dict into PicabooLM's names; drops buffers and the tied head."
    out = {}
    for name, w in state.items():
        name = name.removeprefix("transformer.")
        if name.endswith((".attn.bias", ".attn.masked_bias")) or name == "lm_head.weight":
            continue  # the causal-mask buffers, and the head that is the token embedding
        name = _hf_gpt2_name(name)
        out[name] = w.t().contiguous() if name.endswith(HF_CONV1D) else w
    return out