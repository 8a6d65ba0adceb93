__all__ = ['RESUME_MUST_MATCH', 'TrainerParams', 'check_params']

# %% ../nbs/07_training.ipynb #9ee02df7
from dataclasses import dataclass, fields
from typing import Any

from torch import nn

# %% ../nbs/07_training.ipynb #a00bee5a
@dataclass
class TrainerParams:
    "Everything a training run needs: model, data, optimizer, schedule, precision, checks, checkpoints, tracking."
    model:nn.Module  # returns logits, or (logits, loss); e.g. a PicabooLM
    optimizer:Any = None  # None: configure_adamw_optimizer with the fields below
    loss_fn:Any = None  # loss(logits (N, V), targets (N,)); None: cross-entropy with label_smoothing
    train_dataloader:Any = None  # RandomWindowSampler (endless, resumable) or any iterable of (x, y) batches
    val_dataloader:Any = None  # same kinds; eval_batches batches are taken once and reused
    device:str|None = None  # None/"auto": CUDA, then MPS, then CPU
    epochs:int = 1  # passes over a finite train_dataloader (ignored for an endless sampler)
    batch_size:int|None = None  # sequences per micro-batch (for the record; the batches decide)
    save_every:int = 100  # write checkpoints_path/latest.pt every this many optimizer steps
    checkpoints_path:str = "checkpoints"  # folder for latest.pt, best.pt, final/ and the tracking journal
    gradient_accumulation_steps:int = 1  # micro-batches per optimizer step
    total_steps:int|None = None  # where the cosine reaches min_learning_rate (None: max_steps)
    max_steps:int|None = 200  # stop after this many optimizer steps
    max_learning_rate:float = 6e-4  # peak LR after warmup
    min_learning_rate:float = 6e-5  # LR floor at total_steps
    warmup_steps:int = 50  # linear warmup steps
    tokenizer:Any = None  # for samples, bits per byte and the checkpoint
    max_time:float|None = None  # stop after the step that passes this many seconds of training (None: no limit)
    weight_decay:float = 0.1  # AdamW decay on matrices (when the trainer builds the optimizer)
    betas:tuple = (0.9, 0.95)  # AdamW betas
    eps:float = 1e-8  # AdamW epsilon
    grad_clip:float|None = 1.0  # clip the global gradient norm to this (None: no clipping)
    label_smoothing:float = 0.0  # spread this much target mass over all tokens (default loss only)
    eval_every:int = 50  # validate every this many steps (0: never)
    eval_batches:int = 8  # validation batches per evaluation
    sample_every:int|None = None  # sample text every this many steps (None: eval_every; 0: never)
    sample_prompt:str = ""  # prompt for the samples ("" starts from <|endoftext|>)
    sample_tokens:int = 64  # tokens per sample
    precision:str = "auto"  # "auto", "bf16", "fp16" (CUDA + GradScaler) or "fp32"
    compile:bool|None = None  # torch.compile the model (None: on CUDA only)
    seed:int = 1337  # seeds Python, NumPy and torch (plus the rank under DDP)
    resume_from:str|None = None  # checkpoint file/folder to continue exactly; "auto": latest.pt if present
    init_from:str|None = None  # checkpoint or weights to warm-start from (weights only)
    init_strict:bool = True  # warm start: all tensors must fit (False: skip changed shapes)
    log_every:int = 10  # log train metrics (and print when progress=False) every this many steps
    progress:bool = True  # tqdm progress bar
    live_plot:bool = False  # in a notebook, redraw the loss curves at each evaluation
    tracking:bool = True  # log the run with picaboo.tracking (MLflow), rank 0 only
    experiment:str = "picaboo"  # MLflow experiment
    run_name:str|None = None  # MLflow run name
    tracking_uri:str|None = None  # None: $MLFLOW_TRACKING_URI, else a local store

    def to_dict(self) -> dict:
        "The JSON-able settings (objects such as the model are recorded by their type name)."
        plain = (int, float, str, bool, type(None), tuple, list)
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: v if isinstance(v, plain) else type(v).__name__ for name, v in values.items()}

RESUME_MUST_MATCH = ("batch_size", "gradient_accumulation_steps", "world_size")  # else the data position differs

def check_params(p:TrainerParams, # the settings to check
                ):
    "Refuse settings that cannot work, before anything is built."
    if p.train_dataloader is None:
        raise ValueError("TrainerParams.train_dataloader is required")
    if p.gradient_accumulation_steps < 1:
        raise ValueError(f"gradient_accumulation_steps must be >= 1, got {p.gradient_accumulation_steps}")
    if p.loss_fn is not None and p.label_smoothing:
        raise ValueError("label_smoothing applies to the default loss; pass loss_fn=None, "
                         "or put the smoothing in your loss_fn")