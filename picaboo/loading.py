"Exported from the book's notebooks by nbdev: edit the notebook, not this file."

__all__ = ['shipped_model_names', 'shipped_model', 'find_model', 'load_model_and_tokenizer']

# %% ../nbs/06a_checkpoints.ipynb #3b413507
import shutil
import tempfile
from pathlib import Path

from .checkpoint import clean_state_dict, load_checkpoint, tokenizer_from_files
from .model import PicabooLM, PicabooLMParams
from .data import shipped_dir
from .model_files import CONFIG_NAME, read_config
from .tokenizer import Tokenizer, load_tokenizer

def _load_gpt2_tokenizer(folder:Path):
    "GPT-2's tokenizer from a Hugging Face folder (vocab.json + merges.txt) or GPT-2's own files."
    if (folder / "encoder.json").is_file():
        return Tokenizer.load(folder)
    if not ((folder / "vocab.json").is_file() and (folder / "merges.txt").is_file()):
        raise FileNotFoundError(f"no GPT-2 tokenizer in {folder}: expected vocab.json + merges.txt (Hugging Face) "
                                "or encoder.json + vocab.bpe")
    with tempfile.TemporaryDirectory() as d:  # the same two files under GPT-2's original names
        shutil.copy(folder / "vocab.json", Path(d) / "encoder.json")
        shutil.copy(folder / "merges.txt", Path(d) / "vocab.bpe")
        return Tokenizer.load(d)

def shipped_model_names() -> list[str]:
    "The names of the models the book ships (folders of `picaboo.models` with a config.json)."
    return sorted(p.name for p in shipped_dir().iterdir() if (p / CONFIG_NAME).is_file())

def shipped_model(name:str, # a model the book ships, e.g. "picaboo-tiny"
                 ) -> Path|None:
    "The folder of the shipped model `name` (installed with the package, from the checkout's models/); None if absent."
    folder = shipped_dir() / name
    if (folder / CONFIG_NAME).is_file():
        return folder
    return None

def find_model(path:str|Path, # a folder or file; a bare name also looks in models/
              ) -> Path:
    "`path` if it exists, else the shipped model of that name; a clear error if neither exists."
    path = Path(path)
    if not path.exists() and len(path.parts) == 1:
        path = shipped_model(path.name) or path  # a shipped model, by name
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}: give a folder written by save_pretrained, a training "
                                "checkpoint (.pt), a Hugging Face GPT-2 folder, or the name of a shipped model "
                                f"({', '.join(shipped_model_names())})")
    return path

def _from_training_checkpoint(path:Path, device:str):
    "The model and tokenizer of a checkpoint written by `save_checkpoint` (checked, its tokenizer names too)."
    state = load_checkpoint(path)
    if not state.get("model_config"):
        raise ValueError(f"{state['path']} has no model configuration to rebuild the model from")
    model = PicabooLM(PicabooLMParams.from_dict({**state["model_config"], "device": device}))
    model.load_state_dict(clean_state_dict(state["model"]))
    tokenizer = tokenizer_from_files(state.get("tokenizer"), state["path"])
    if tokenizer is None:
        raise ValueError(f"{state['path']} has no tokenizer saved with it")
    return model, tokenizer

def _tokenizer_beside(path:Path):
    "The tokenizer saved in a save_pretrained folder, or in its tokenizer/ subfolder."
    errors = []
    for folder in (path, path / "tokenizer"):
        if folder.is_dir() and any(folder.glob("*.json")):
            try:
                return load_tokenizer(folder)
            except (OSError, ValueError) as e:
                errors.append(str(e))
    raise FileNotFoundError(f"no tokenizer saved in {path} or {path / 'tokenizer'} "
                            f"(save it with tokenizer.save(folder)); {'; '.join(errors)}")

def load_model_and_tokenizer(path:str|Path, # save_pretrained folder, training checkpoint, or Hugging Face GPT-2 folder
                             device:str|None=None, # where to put the model; None: the CPU, where samplers default
                            ):
    "The model and its tokenizer from `path`, ready to sample from."
    path, device = find_model(path), device or "cpu"
    if path.is_file() or (path / "latest.pt").is_file() and not (path / "config.json").is_file():
        model, tokenizer = _from_training_checkpoint(path, device)
    else:
        model = PicabooLM.from_pretrained(path, device=device)
        is_gpt2 = read_config(path).get("model_type") == "gpt2"
        tokenizer = _load_gpt2_tokenizer(path) if is_gpt2 else _tokenizer_beside(path)
    if tokenizer.vocab_size > model.params.vocab_size:
        raise ValueError(f"the tokenizer in {path} has {tokenizer.vocab_size} tokens but the model only "
                         f"{model.params.vocab_size}: they do not belong together")
    return model.eval(), tokenizer