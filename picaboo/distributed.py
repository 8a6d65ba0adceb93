__all__ = ['World', 'init_distributed', 'wrap_ddp', 'all_mean', 'gather_objects']

# %% ../nbs/07_training.ipynb #6e5d3a2c
import os
from typing import NamedTuple

import torch
import torch.distributed as dist
from torch import nn

# %% ../nbs/07_training.ipynb #b16b08b4
class World(NamedTuple):
    "Where this process stands in a `torchrun` job."
    rank:int  # this process's number, 0 .. world_size - 1; rank 0 prints, tracks and writes
    world_size:int  # processes in the job (1 without torchrun)
    device:str  # the device this process trains on (its own GPU under torchrun)

def init_distributed(device:str, # the resolved device (`pick_device`)
                    ) -> World:
    "Join torchrun's process group if WORLD_SIZE > 1 (NCCL on GPUs, gloo on CPUs); without torchrun, rank 0 of 1."
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    if world_size == 1:
        return World(0, 1, device)
    if device.startswith("cuda"):
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"  # one GPU per process
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return World(dist.get_rank(), world_size, device)

def wrap_ddp(model:nn.Module, # the (maybe compiled) model, already on `device`
             device:str, # this process's device
            ) -> nn.Module:
    "The model wrapped in DistributedDataParallel, which averages gradients across processes during backward."
    from torch.nn.parallel import DistributedDataParallel
    device_ids = [torch.device(device).index] if device.startswith("cuda") else None
    return DistributedDataParallel(model, device_ids=device_ids)

@torch.no_grad()
def all_mean(t:torch.Tensor, # the same shape on every process
             world_size:int, # processes in the job
            ) -> torch.Tensor:
    "The mean of `t` over all processes (in place); `t` itself for a single process."
    if world_size > 1:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        t /= world_size
    return t

def gather_objects(obj, # any picklable object
                   world_size:int, # processes in the job
                  ) -> list:
    "Every process's `obj`, as a list by rank (on every process)."
    if world_size == 1:
        return [obj]
    objects = [None] * world_size
    dist.all_gather_object(objects, obj)
    return objects