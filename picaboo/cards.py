__all__ = ['corpus_manifest', 'validation_ids', 'checkpoint_metrics']

# %% ../nbs/07a_train_cli.ipynb #898bee1b
import json
import tempfile
from pathlib import Path

import numpy as np

from .batches import RandomWindowSampler, encode_to_bin, load_bin, split_documents
from .data import build_default_corpus, default_documents
from .loading import load_model_and_tokenizer
from .validation import count_bytes, evaluate

def corpus_manifest() -> dict:
    "The default corpus's manifest (building the corpus first if needed), with its folder under 'path'."
    folder = build_default_corpus()
    return {**json.loads((folder/"manifest.json").read_text(encoding="utf-8")), "path": str(folder)}

def validation_ids(tokenizer, # the tokenizer to encode with
                   val_fraction:float=0.1, # share of documents held out (as `picaboo train`)
                   seed:int=0, # seed of the document split (`picaboo train --data-seed`)
                  ) -> np.ndarray:
    "Token ids of the embedded corpus's validation documents, encoded exactly as `picaboo train` encodes them."
    _, val = split_documents(default_documents(), val_fraction, seed)
    with tempfile.TemporaryDirectory() as tmp:
        return np.array(load_bin(encode_to_bin(val, tokenizer, Path(tmp)/"val.bin")), dtype=np.int64)

def checkpoint_metrics(folder, # a save_pretrained folder with its tokenizer (e.g. models/picaboo-tiny)
                       batches:int=8, # validation batches
                       batch_size:int=16, # windows per batch
                       seed:int=0, # seed of the window positions
                      ) -> dict:
    "Validation loss, perplexity and bits per byte of a saved model on fixed windows of the embedded corpus."
    model, tok = load_model_and_tokenizer(folder)
    sampler = RandomWindowSampler(validation_ids(tok), batch_size, model.params.context_length, seed=seed)
    chosen = [next(sampler) for _ in range(batches)]
    result = evaluate(model, chosen, "cpu", "fp32", sum(count_bytes(tok, y) for _, y in chosen))
    return {**result, "batches": batches, "batch_size": batch_size, "seed": seed}