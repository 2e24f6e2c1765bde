"""Training throughput: the helpers engine against a textbook PyTorch loop, same model, same machine.

    python benchmarks/train_throughput.py [--steps 40] [--rounds 3] [--width 0.25] [--batch 128]

The textbook loop is the one most tutorials teach: a torchvision CIFAR-10 dataset (PIL images,
``ToTensor`` + ``Normalize`` per sample), a shuffling ``DataLoader`` with 2 workers, and a
model in the default memory format. The engine (``helpers.train.fit``) keeps the normalised
data on the device, draws batches by index there and runs channels-last. Both train the same
VGG (Glorot init, BN) with plain SGD; the two are timed in alternation and the best round of
each is reported, with the ratio.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
import torchvision
from torch import nn
from torchvision import transforms
from torchvision.datasets import CIFAR10, VisionDataset

from helpers import build_model, cifar10_tensors, fit, load_cifar10, pick_device
from helpers.data import TensorData, cifar10_stats
from helpers.paths import data_dir
from helpers.train import Task


class CachedCIFAR10(CIFAR10):
    """torchvision's CIFAR10 (its very ``__getitem__``: PIL image, then transforms) fed from our cache."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform):
        VisionDataset.__init__(self, root=None, transform=transform)
        self.data, self.targets, self.train = np.array(images), labels.tolist(), True


def textbook_dataset(transform) -> CIFAR10:
    raw = data_dir() / "cifar10" / "raw"
    if (raw / "cifar-10-batches-py").is_dir():  # the original download, if it is there
        return CIFAR10(str(raw), train=True, transform=transform)
    images, labels = load_cifar10("train")
    return CachedCIFAR10(images, labels, transform)


def time_textbook(model: nn.Module, steps: int, batch: int, lr: float, workers: int, augment: bool) -> float:
    mean, std = cifar10_stats()
    crop_flip = [transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip()] if augment else []
    dataset = textbook_dataset(transforms.Compose([*crop_flip, transforms.ToTensor(), transforms.Normalize(mean, std)]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers,
                                         drop_last=True, persistent_workers=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    it = iter(loader)
    for _ in range(3):  # warm-up, and let the workers start
        x, y = next(it)
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    start = time.perf_counter()
    for _ in range(steps):
        x, y = next(it)
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    elapsed = time.perf_counter() - start
    del it, loader
    return steps * batch / elapsed


def time_engine(model: nn.Module, steps: int, batch: int, lr: float, device: torch.device, augment: bool) -> float:
    train_data = cifar10_tensors("train", None, device=device)
    small_test = TensorData(train_data.x[:batch], train_data.y[:batch])  # keep evaluation out of the timing
    task = Task(train_data, small_test)
    kwargs = dict(lr=lr, batch_size=batch, eval_every=10**9, augment=augment, progress=False)
    fit(model, task, steps=3, **kwargs)  # warm-up
    history = fit(model, task, steps=steps, **kwargs)
    return steps * batch / history.wall_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vgg11")
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--norm", default="batch")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--augment", action="store_true", help="random crop + flip in both loops")
    args = parser.parse_args()
    device = pick_device()
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, device {device}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} cores")
    print(f"{args.model} width {args.width} norm {args.norm}, batch {args.batch}, {args.steps} timed steps, "
          f"{args.rounds} rounds, augmentation {'on' if args.augment else 'off'}")
    engine, textbook = [], []
    for r in range(args.rounds):
        model = build_model(args.model, args.norm, args.width, seed=r).to(device, memory_format=torch.channels_last)
        engine.append(time_engine(model, args.steps, args.batch, 0.05, device, args.augment))
        model = build_model(args.model, args.norm, args.width, seed=r).to(device)
        textbook.append(time_textbook(model, args.steps, args.batch, 0.05, args.workers, args.augment)
                        if device.type == "cpu"
                        else float("nan"))
        print(f"round {r + 1}: engine {engine[-1]:7.0f} img/s   textbook {textbook[-1]:7.0f} img/s")
    best_e, best_t = max(engine), max(textbook)
    print(f"best: engine {best_e:.0f} img/s, textbook {best_t:.0f} img/s, ratio {best_e / best_t:.2f}x")


if __name__ == "__main__":
    main()
