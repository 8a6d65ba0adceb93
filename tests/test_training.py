"""Training with a DataLoader, a hand-made optimizer and loss_fn, end to end on the embedded corpus (tracked in MLflow)."""
import warnings
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from picaboo.checkpoint import load_checkpoint
from picaboo.batches import PicabooLMPretainingDataset, PicabooLMPretrainingDataset
from picaboo.data import load_default_corpus
from picaboo.model import PicabooLM, PicabooLMParams
from picaboo.tokenizer import Tokenizer
from picaboo.training import Trainer, TrainerParams, configure_adamw_optimizer

MODELS = Path(__file__).resolve().parents[1]/"models"


def test_dataloader_training_flow(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # checkpoints/ and MLflow's local store land here
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    # Prepare tokenizer and data: the embedded corpus, cut short
    tokenizer = Tokenizer.load(MODELS)
    text = load_default_corpus()[:60_000]
    ids = tokenizer.encode(text)

    context_len = 64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the old misspelt name still works
        train_dataset = PicabooLMPretainingDataset(ids, context_size=context_len)
    train_loader = DataLoader(train_dataset, batch_size=8, shuffle=True, drop_last=True)
    val_loader = DataLoader(train_dataset, batch_size=8, shuffle=False, drop_last=True)

    # Model and optimizer
    params = PicabooLMParams(vocab_size=len(tokenizer.encoder), context_length=context_len, num_blocks=2, num_heads=2, d_model=64)
    model = PicabooLM(params)
    optimizer = configure_adamw_optimizer(
        model=model, weight_decay=0.1, learning_rate=6e-4, betas=(0.9, 0.95), eps=1e-8, device_type=params.device)

    trainer_params = TrainerParams(
        model=model,
        optimizer=optimizer,
        loss_fn=torch.nn.CrossEntropyLoss(),
        train_dataloader=train_loader,
        val_dataloader=val_loader,
        device=params.device,
        epochs=1,
        batch_size=8,
        save_every=1,
        checkpoints_path="checkpoints",
        gradient_accumulation_steps=4,
        total_steps=8,
        max_steps=8,
        max_learning_rate=3e-3,
        min_learning_rate=3e-4,
        warmup_steps=2,
        tokenizer=tokenizer,
    )

    trainer = Trainer(trainer_params)
    trained = trainer.train()
    assert trained is model and trainer.step == 8
    h = trainer.history
    assert h["loss"][-1] < h["loss"][0]
    assert h["val_step"] == [8] and 0 < h["val_bits_per_byte"][0] < 10
    assert isinstance(h["sample"][0], str)
    ck = load_checkpoint("checkpoints")
    assert ck["step"] == 8 and ck["config"]["gradient_accumulation_steps"] == 4 and ck["tokenizer"]
    assert (tmp_path/"checkpoints"/"final"/"model.safetensors").exists()
    assert (tmp_path/"checkpoints"/"final"/"tokenizer"/"encoder.json").exists()
    import importlib.util
    if importlib.util.find_spec("picaboo.tracking"):  # the run is in MLflow's local store in the working folder
        from mlflow import MlflowClient
        assert trainer.run_id
        client = MlflowClient(f"sqlite:///{tmp_path/'mlflow.db'}")
        run = client.get_run(trainer.run_id)
        assert run.data.params["gradient_accumulation_steps"] == "4"
        assert [m.step for m in client.get_metric_history(trainer.run_id, "val_loss")] == [8]
        assert len(client.get_metric_history(trainer.run_id, "train_loss")) >= 1
        artifacts = {a.path for a in client.list_artifacts(trainer.run_id)}
        assert {"model", "tokenizer", "plots", "samples"} <= artifacts and "final" not in artifacts, artifacts
        assert "model/config.json" in {a.path for a in client.list_artifacts(trainer.run_id, "model")}  # the card
        # the weights go to MLflow only when asked: a second run into the same folder starts over on purpose
        trainer_params.overwrite, trainer_params.log_checkpoint, trainer_params.max_steps = True, True, 2
        again = Trainer(trainer_params)
        again.train()
        assert "final/model.safetensors" in {a.path for a in client.list_artifacts(again.run_id, "final")}


def test_dataloader_run_stops_when_epochs_end(tmp_path):
    tokenizer = Tokenizer.load(MODELS)
    ids = tokenizer.encode(load_default_corpus()[:6_000])
    loader = DataLoader(PicabooLMPretrainingDataset(ids, context_size=32), batch_size=4, shuffle=True, drop_last=True)
    model = PicabooLM(PicabooLMParams.preset("tiny", context_length=32, num_blocks=1))
    t = Trainer(TrainerParams(model=model, train_dataloader=loader, epochs=2, max_steps=1000, tracking=False, progress=False,
                              checkpoints_path=str(tmp_path), gradient_accumulation_steps=2))
    assert t.max_steps == len(loader) * 2 // 2
    t.train()
    assert t.step == t.max_steps


def test_resumed_run_continues_its_mlflow_run(tmp_path, monkeypatch):
    pytest.importorskip("picaboo.tracking")
    import numpy as np
    from mlflow import MlflowClient
    from picaboo.batches import RandomWindowSampler
    monkeypatch.chdir(tmp_path); monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    data = np.random.default_rng(0).integers(0, 64, 5_000).astype(np.uint16)
    def run(steps, resume=None):
        torch.manual_seed(0)
        model = PicabooLM(PicabooLMParams.preset("tiny", vocab_size=64, context_length=16, num_blocks=1))
        t = Trainer(TrainerParams(model=model, train_dataloader=RandomWindowSampler(data, 2, 16), max_steps=steps, log_every=1,
                                  progress=False, resume_from=resume, checkpoints_path="ck", run_name="resumable"))
        t.train()
        return t
    first = run(2)
    second = run(4, resume="ck")
    assert second.run_id == first.run_id
    client = MlflowClient(f"sqlite:///{tmp_path/'mlflow.db'}")
    assert [m.step for m in client.get_metric_history(first.run_id, "train_loss")] == [1, 2, 3, 4]


def test_training_goes_on_without_its_tracking_server(tmp_path, capsys):
    "No server at the tracking URI: training finishes, and every metric waits in the run's own journal."
    import json, socket
    import numpy as np
    from picaboo.batches import RandomWindowSampler
    from picaboo.tracking import find_journals
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"  # free now, and nobody will listen there
    data = np.random.default_rng(0).integers(0, 64, 5_000).astype(np.uint16)
    model = PicabooLM(PicabooLMParams.preset("tiny", vocab_size=64, context_length=16, num_blocks=1))
    t = Trainer(TrainerParams(model=model, train_dataloader=RandomWindowSampler(data, 2, 16), max_steps=3, log_every=1,
                              progress=False, checkpoints_path=str(tmp_path/"ck"), tracking_uri=url))
    t.train()
    printed = capsys.readouterr()
    assert t.step == 3 and "NOT LOGGED" in printed.out
    [warning] = [line for line in printed.err.splitlines() if "MLflow tracking" in line]  # one line, once
    assert warning.startswith("picaboo: warning: MLflow tracking at") and "training goes on" in warning
    [journal] = find_journals(tmp_path/"ck")
    assert journal.parent == tmp_path/"ck"/"tracking-journal"
    rows = [json.loads(line) for line in (journal/"metrics.jsonl").read_text().splitlines()]
    assert sorted(r["step"] for r in rows if r["key"] == "train_loss") == [1, 2, 3]


def test_mfu_is_reported_where_the_peak_is_known(tmp_path, monkeypatch, capsys):
    "On a device whose peak FLOP/s is known, every step's MFU = FLOPs per token x tokens/s / peak (a CPU: none)."
    import numpy as np
    import picaboo.training
    from mlflow import MlflowClient
    from picaboo.batches import RandomWindowSampler
    from picaboo.throughput import flops_per_token
    monkeypatch.chdir(tmp_path); monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    data = np.random.default_rng(0).integers(0, 64, 5_000).astype(np.uint16)

    def run(name):
        model = PicabooLM(PicabooLMParams.preset("tiny", vocab_size=64, context_length=16, num_blocks=1))
        t = Trainer(TrainerParams(model=model, train_dataloader=RandomWindowSampler(data, 2, 16), max_steps=3, log_every=1,
                                  progress=False, checkpoints_path=name, run_name=name, eval_every=0))
        t.train()
        return t, model

    plain, _ = run("cpu")
    assert "mfu" not in plain.history and "MFU" not in capsys.readouterr().out
    monkeypatch.setattr(picaboo.training, "peak_flops", lambda device, precision: 1e9)  # a made-up 1 GFLOP/s chip
    known, model = run("known")
    expected = [flops_per_token(model) * tok_s / 1e9 for tok_s in known.history["tokens_per_s"]]
    assert known.history["mfu"] == pytest.approx(expected) and all(v > 0 for v in expected)
    assert "MFU" in capsys.readouterr().out
    logged = MlflowClient(f"sqlite:///{tmp_path/'mlflow.db'}").get_metric_history(known.run_id, "mfu")
    assert [m.value for m in logged] == pytest.approx(expected)
