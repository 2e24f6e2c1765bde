"""Tiny fake CIFAR-10 data sets, in torchvision's original format and in our cache format."""

from __future__ import annotations

import hashlib
import pickle
import tarfile
from pathlib import Path

import numpy as np

from helpers.data import CIFAR10_BATCHES


def fake_cifar10(n_train: int = 250, n_test: int = 50, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Random images (N,32,32,3) uint8 with labels cycling through the 10 classes."""
    rng = np.random.default_rng(seed)
    return {split: (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), np.arange(n) % 10)
            for split, n in (("train", n_train), ("test", n_test))}


def write_cache(root: Path, data: dict) -> Path:
    """Our cache format: root/cifar10/{train,test}.npz."""
    (root / "cifar10").mkdir(parents=True, exist_ok=True)
    for split, (images, labels) in data.items():
        np.savez(root / "cifar10" / f"{split}.npz", images=images, labels=labels.astype(np.int64))
    return root


def write_torchvision_batches(folder: Path, data: dict) -> Path:
    """The official ``cifar-10-batches-py`` layout: pickled dicts of rows of 3072 bytes (R, G, B planes)."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, names in CIFAR10_BATCHES.items():
        images, labels = data[split]
        for part, name in zip(np.array_split(np.arange(len(labels)), len(names)), names):
            rows = images[part].transpose(0, 3, 1, 2).reshape(len(part), 3072)
            with open(folder / name, "wb") as f:
                pickle.dump({"batch_label": name, "data": rows, "labels": labels[part].tolist(),
                             "filenames": [f"{i}.png" for i in part]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                                     "ship", "truck"]}, f)
    return folder


def write_archive(path: Path, data: dict) -> str:
    """A ``cifar-10-python.tar.gz`` like the official one; returns its MD5."""
    batches = write_torchvision_batches(path.parent / "src" / "cifar-10-batches-py", data)
    with tarfile.open(path, "w:gz") as tar:
        tar.add(batches, arcname="cifar-10-batches-py")
    return hashlib.md5(path.read_bytes()).hexdigest()
