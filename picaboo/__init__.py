__version__ = "0.1.0"

import importlib as _importlib

# The public names, each with the module that defines it. This file is written by hand (nbdev only updates the
# version line); the check in nbs/15c_cli.ipynb keeps the table true. A name is imported from its module the first
# time it is used, so `import picaboo` (and `picaboo --help`) does not import torch.
_EXPORTS = {
    "Document": "picaboo.data",
    "build_default_corpus": "picaboo.data",
    "default_documents": "picaboo.data",
    "load_default_corpus": "picaboo.data",
    "load_documents": "picaboo.readers",
    "ENDOFTEXT": "picaboo.bpe",
    "train_bpe": "picaboo.bpe",
    "Tokenizer": "picaboo.tokenizer",
    "CharTokenizer": "picaboo.tokenizer",
    "load_tokenizer": "picaboo.tokenizer",
    "encode_to_bin": "picaboo.batches",
    "load_bin": "picaboo.batches",
    "split_documents": "picaboo.batches",
    "RandomWindowSampler": "picaboo.batches",
    "PicabooLMPretrainingDataset": "picaboo.batches",
    "PicabooLMPretainingDataset": "picaboo.batches",
    "KVCache": "picaboo.attention",
    "CausalSelfAttention": "picaboo.attention",
    "IGNORE_INDEX": "picaboo.model",
    "PicabooLM": "picaboo.model",
    "PicabooLMParams": "picaboo.model_params",
    "pick_device": "picaboo.device",
    "save_checkpoint": "picaboo.checkpoint",
    "load_checkpoint": "picaboo.checkpoint",
    "find_model": "picaboo.loading",
    "shipped_model": "picaboo.loading",
    "load_model_and_tokenizer": "picaboo.loading",
    "start_tracking": "picaboo.tracking",
    "configure_adamw_optimizer": "picaboo.optim",
    "cosine_lr": "picaboo.optim",
    "evaluate": "picaboo.validation",
    "Trainer": "picaboo.training",
    "TrainerParams": "picaboo.training_params",
    "plot_history": "picaboo.training_plots",
    "load_history": "picaboo.training_history",
    "plot_learning": "picaboo.training_history",
    "corpus_manifest": "picaboo.cards",
    "checkpoint_metrics": "picaboo.cards",
    "generate_tokens": "picaboo.sampling",
    "generate": "picaboo.sampling",
    "left_pad": "picaboo.sampling",
    "beam_search": "picaboo.sampling",
    "encode_prompt": "picaboo.sampling",
    "stream": "picaboo.sampling",
    "chat": "picaboo.chat",
    "add_chat_tokens": "picaboo.chat",
    "prepare_for_chat": "picaboo.chat",
    "render": "picaboo.chat",
    "training_pair": "picaboo.chat",
    "ChatSession": "picaboo.chat",
    "load_chat_model": "picaboo.chat",
    "instruction_examples": "picaboo.chat_data",
    "load_for_chat": "picaboo.finetune",
    "assistant_loss": "picaboo.finetune",
    "bits_per_byte": "picaboo.evaluation",
    "report_card": "picaboo.evaluation",
    "chat_with_lookup": "picaboo.lookup",
    "DocLookup": "picaboo.lookup",
    "card_table": "picaboo.evaluation",
    "nearest_tokens": "picaboo.inside",
    "logit_lens": "picaboo.inside",
    "run_demo": "picaboo.demo",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name):
    "Import a public name from its module on first use (PEP 562), and keep it here."
    if name not in _EXPORTS:
        raise AttributeError(f"module 'picaboo' has no attribute {name!r}")
    module = _importlib.import_module(_EXPORTS[name])
    if module.__name__ == f"{__name__}.{name}":  # importing it made it an attribute here: the callable module itself
        return module
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    "The module's own names and every public name, loaded or not."
    return sorted(set(globals()) | set(_EXPORTS))
