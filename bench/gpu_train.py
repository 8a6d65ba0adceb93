"""Training throughput and MFU on a GPU: picaboo's Trainer on a GPT-2-small shaped model (bf16, flash attention,
torch.compile, fused AdamW, the head padded to 50,304 rows), side by side with Hugging Face's GPT2LMHeadModel
trained the same way (same shape, batch, precision, compile and optimizer) in the same run.

Each side: `--warmup` optimizer steps not counted (compilation happens there), then `--steps` counted ones;
tokens per second is the median over the counted steps, MFU = FLOPs per token x tokens per second / the GPU's
peak (picaboo.throughput: 6 per weight plus attention's 12 x layers x width x context). The data is random token
ids: speed does not depend on what the tokens say.

    python bench/gpu_train.py            # on a CUDA machine: what bench/results/gpu_train.txt holds
    python bench/gpu_train.py --small    # a quick look at a tiny model (runs on a CPU too, without MFU)
"""
import argparse
import statistics
import tempfile
import time

import numpy as np
import torch

from picaboo.batches import RandomWindowSampler
from picaboo.model import PicabooLM, PicabooLMParams
from picaboo.optim import configure_adamw_optimizer
from picaboo.precision import autocast, pick_precision
from picaboo.throughput import flops_per_token, peak_flops
from picaboo.training import Trainer, TrainerParams


def shape(small:bool) -> PicabooLMParams:
    "GPT-2 small (no dropout, vocabulary padded to a multiple of 64), or the tiny preset for a quick look."
    if small:
        return PicabooLMParams.preset("tiny", vocab_size=2048, context_length=128)
    return PicabooLMParams.preset("gpt2", vocab_multiple=64)


def picaboo_tokens_per_s(params, data, args, device) -> tuple[float, float]:
    "picaboo's Trainer: (median tokens/s over the counted steps, FLOPs per token)."
    torch.manual_seed(0)
    model = PicabooLM(PicabooLMParams.from_dict({**params.to_dict(), "device": device}))
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer(TrainerParams(
            model=model, train_dataloader=RandomWindowSampler(data, args.batch_size, params.context_length, seed=0),
            gradient_accumulation_steps=args.accumulation, max_steps=args.warmup + args.steps, warmup_steps=10,
            max_learning_rate=6e-4, device=device, tracking=False, progress=False, eval_every=0, sample_every=0,
            save_every=0, checkpoints_path=folder, log_every=10**9))
        trainer.train()
    return statistics.median(trainer.history["tokens_per_s"][args.warmup:]), flops_per_token(model)


def hf_tokens_per_s(params, data, args, device) -> float:
    "Hugging Face's GPT2LMHeadModel, same shape, batch, precision, compile and fused AdamW: median tokens/s."
    import transformers
    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=params.padded_vocab_size, n_positions=params.context_length, n_embd=params.d_model,
        n_layer=params.num_blocks, n_head=params.num_heads, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    config._attn_implementation = "sdpa"  # PyTorch's fused attention (flash attention on a GPU), as picaboo's
    model = transformers.GPT2LMHeadModel(config).to(device).train()
    optimizer = configure_adamw_optimizer(model, 0.1, 6e-4, device_type=device)
    precision = pick_precision(device)
    forward = torch.compile(model) if device.startswith("cuda") else model
    batches = RandomWindowSampler(data, args.batch_size, params.context_length, seed=0)
    rates = []
    for step in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        for _ in range(args.accumulation):
            x, _ = next(batches)
            x = x.to(device)
            with autocast(device, precision):
                loss = forward(input_ids=x, labels=x).loss  # labels shift inside the model
            (loss / args.accumulation).backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        torch.stack([loss.detach().float(), norm.float()]).tolist()  # one wait for the device, as picaboo's step
        rates.append(args.batch_size * args.accumulation * params.context_length / (time.perf_counter() - t0))
    return statistics.median(rates[args.warmup:])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="the tiny preset (a quick look; runs on a CPU)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--accumulation", type=int, default=4, help="micro-batches per optimizer step")
    ap.add_argument("--warmup", type=int, default=10, help="optimizer steps not counted (compilation)")
    ap.add_argument("--steps", type=int, default=20, help="optimizer steps counted")
    args = ap.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    params = shape(args.small or device == "cpu")
    precision = pick_precision(device)
    peak = peak_flops(device, precision)
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    data = np.random.default_rng(0).integers(0, params.vocab_size, 2_000_000, dtype=np.int64).astype(np.uint16)
    print(f"torch {torch.__version__}, {name}, {precision}, peak {peak / 1e12 if peak else float('nan'):.0f} "
          f"TFLOP/s, {params.num_blocks} layers x {params.d_model} wide, vocabulary {params.vocab_size} "
          f"({params.padded_vocab_size} rows), batch {args.batch_size} x {params.context_length} x "
          f"{args.accumulation} micro-batches, {args.steps} steps counted after {args.warmup}", flush=True)
    ours, per_token = picaboo_tokens_per_s(params, data, args, device)
    theirs = hf_tokens_per_s(params, data, args, device)
    mfu = (lambda rate: f"{per_token * rate / peak:6.1%}") if peak else (lambda rate: "   n/a")
    print(f"{'':24} {'tokens/s':>12} {'MFU':>7}")
    print(f"{'picaboo Trainer':24} {ours:12,.0f} {mfu(ours)}")
    print(f"{'transformers GPT-2':24} {theirs:12,.0f} {mfu(theirs)}")
    print(f"picaboo / transformers: {ours / theirs:.2f}x tokens per second "
          f"({per_token / 1e6:.0f} MFLOPs per token)")


if __name__ == "__main__":
    main()
