"""neural-amp-modeler 0.13 on one pair, for bench/effects.py: train within a CPU-time budget, render a song.

Runs in its own virtual environment (PyTorch, CPU; see bench/requirements-nam.txt), never in the
project's: bench/effects.py starts it as a subprocess with that environment's Python.

    .venv-nam/bin/python bench/nam_train.py wavenet FOLDER --cpu-seconds 120

FOLDER holds train_x.raw, train_y.raw and song.raw (16-bit little-endian, mono, 44.1 kHz); the
render goes to FOLDER/nam_<architecture>.f32 (float32), and one JSON line on stdout says how long
training ran. The models are neural-amp-modeler's own configurations (its nam_full_configs): the
standard WaveNet (two layer arrays of 16 and 8 channels, kernel 3, dilations 1..512, tanh, heads of
8 and 1 channels (0.13 spells head_size as a head object); Adam
0.004, ExponentialLR 0.993 per epoch; batches of 16 x 8192 samples) and its LSTM config's loss,
optimiser and schedule (ESR validation, pre-emphasised MR-STFT term, Adam 0.008, 0.995 per epoch)
with one layer of 16 units and a burn-in of 4096 samples, as issue 21 measured it (lstm.json's 3
layers of 18 over 8192 + 32768 samples a datum cost seconds a step on one thread).

Equal time, one thread: torch is held to one intra-op and one inter-op thread, and a Lightning
callback stops training at the end of the batch where this process's CPU time (time.process_time:
start-up and data included, as fit.py's whole process is counted on the other side) passes the
budget; the checkpoint with the lowest validation loss (the pair's last 10%, as fit.py's --val 0.1)
is the one rendered.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from nam.data import Dataset
from nam.train.lightning_module import LightningModule

RATE = 44100
VALIDATION_SHARE = 0.1  # fit.py's --val default: the pair's end
RENDER_BLOCK = 1 << 18  # samples per WaveNet render call: bounded memory on a long song
DILATIONS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
ARCHITECTURES = {  # name -> (model config, samples of output per datum)
    "wavenet": ({
        "net": {"name": "WaveNet", "config": {"layers_configs": [
            {"condition_size": 1, "input_size": 1, "channels": 16, "kernel_size": 3, "dilations": DILATIONS,
             "activation": "Tanh", "gated": False, "head": {"out_channels": 8, "kernel_size": 1, "bias": False}},
            {"condition_size": 1, "input_size": 16, "channels": 8, "kernel_size": 3, "dilations": DILATIONS,
             "activation": "Tanh", "gated": False, "head": {"out_channels": 1, "kernel_size": 1, "bias": True}}],
            "head_scale": 0.02}},
        "loss": {"val_loss": "esr"},  # NAM's default is the MSE: its validation would not read as an ESR
        "optimizer": {"lr": 0.004},
        "lr_scheduler": {"class": "ExponentialLR", "kwargs": {"gamma": 0.993}},
    }, 8192),
    "lstm": ({
        "net": {"name": "LSTM", "config": {"num_layers": 1, "hidden_size": 16, "train_burn_in": 4096,
                                           "train_truncate": None}},
        "loss": {"val_loss": "esr", "mask_first": 4096, "pre_emph_mrstft_weight": 0.002,
                 "pre_emph_mrstft_coef": 0.85},
        "optimizer": {"lr": 0.008},
        "lr_scheduler": {"class": "ExponentialLR", "kwargs": {"gamma": 0.995}},
    }, 8192),
}


class CpuBudget(pl.Callback):
    """Stops training once this process has used `seconds` of CPU time (checked after every batch)."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def on_train_batch_end(self, trainer, *args):
        if time.process_time() >= self.seconds:
            trainer.should_stop = True


def read_s16(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.fromfile(path, "<i2").astype(np.float32) / 32768)


def render(net, song: torch.Tensor) -> np.ndarray:
    """The whole song through the network: a recurrent one in one pass (its state runs on), a
    convolutional one in blocks that each carry the receptive field's history."""
    with torch.no_grad():
        if net.receptive_field == 1:
            return net(song, pad_start=True).numpy()
        history = net.receptive_field - 1
        padded = torch.cat([torch.zeros(history), song])
        blocks = [net(padded[start: start + history + RENDER_BLOCK], pad_start=False).numpy()
                  for start in range(0, len(song), RENDER_BLOCK)]
        return np.concatenate(blocks)[: len(song)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("architecture", choices=sorted(ARCHITECTURES))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--cpu-seconds", type=float, required=True, help="CPU time of this whole process")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    pl.seed_everything(args.seed, verbose=False)

    config, ny = ARCHITECTURES[args.architecture]
    model = LightningModule.init_from_config(json.loads(json.dumps(config)))
    model.net.sample_rate = RATE
    x, y = read_s16(args.folder / "train_x.raw"), read_s16(args.folder / "train_y.raw")
    split = int(len(x) * (1 - VALIDATION_SHARE))
    nx = model.net.receptive_field
    common = {"nx": nx, "sample_rate": RATE, "require_input_pre_silence": None}
    train = Dataset(x, y, ny=ny, stop_samples=split, **common)
    # the validation targets start at the split; the input before it feeds the receptive field
    validation = Dataset(x, y, ny=None, start_samples=split - (nx - 1), **common)
    for dataset in (train, validation):
        dataset.handshake(model.net)
        model.net.handshake(dataset)

    with tempfile.TemporaryDirectory() as folder:
        best = pl.callbacks.ModelCheckpoint(dirpath=folder, monitor="val_loss", save_top_k=1)
        trainer = pl.Trainer(accelerator="cpu", max_epochs=100_000, callbacks=[best, CpuBudget(args.cpu_seconds)],
                             logger=False, enable_progress_bar=False, enable_model_summary=False,
                             num_sanity_val_steps=0)
        started = time.perf_counter()
        trainer.fit(model, DataLoader(train, batch_size=16, shuffle=True, drop_last=True),
                    DataLoader(validation))
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time()
        if best.best_model_path:
            model = LightningModule.load_from_checkpoint(best.best_model_path,
                                                         **LightningModule.parse_config(json.loads(json.dumps(config))))
    model.eval()
    render(model.net, read_s16(args.folder / "song.raw")).astype(np.float32).tofile(
        args.folder / f"nam_{args.architecture}.f32")
    print(json.dumps({"training_seconds": seconds, "cpu_seconds": cpu_seconds, "epochs": trainer.current_epoch,
                      "best_val_loss": float(best.best_model_score) if best.best_model_score is not None else None}))


if __name__ == "__main__":
    main()
