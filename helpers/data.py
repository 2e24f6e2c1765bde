"""CIFAR-10 and deep-linear-network (DLN) data, held on the device as tensors.

CIFAR-10 is read from a cache in the project's own format, ``cifar10/{train,test}.npz`` under
:func:`helpers.paths.data_dir` (``images`` (N,32,32,3) uint8, ``labels`` (N,) int64). When the
cache is missing it is built once from the official archive, downloaded with torchvision and
checked against its MD5 sum.

Training never goes through a DataLoader: the whole (sub)set is normalised once, stored
channels-last on the device, and batches are drawn by index there.

Keyed code (:data:`helpers.fingerprints.ENGINE_MODULES`): every run reads its data through it. How the
cache files are made (the download and the conversion) is in :mod:`helpers.cifar10_files`.
Taught in notebook 00.
"""

from __future__ import annotations

import functools
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import cifar10_files
from .cifar10_files import CIFAR10_BATCHES, CIFAR10_CLASSES  # noqa: F401  (importable from here as before)
from .paths import data_dir


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is neither cached nor downloadable; the message says how to get it."""


def load_cifar10(split: str = "train", root: str | Path | None = None, download: bool = True,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Images (N,32,32,3) uint8 and labels (N,) int64 of a CIFAR-10 split, read-only.

    Downloads and converts the official archive when the cache is missing, unless
    ``download`` is false or ``BN_NO_DOWNLOAD=1`` (as in CI, which must never download).
    """
    if split not in CIFAR10_BATCHES:
        raise ValueError(f"unknown CIFAR-10 split {split!r}; choose 'train' or 'test'")
    root = Path(root) if root is not None else data_dir()
    path = root / "cifar10" / f"{split}.npz"
    if not path.is_file():
        if not download or os.environ.get("BN_NO_DOWNLOAD") == "1":
            raise DatasetNotFoundError(cifar10_files.missing_message(root, "downloading is switched off"))
        try:
            cifar10_files.download_cifar10(root)
        except (OSError, RuntimeError) as err:  # no network, bad checksum, read-only folder
            failure = f"download failed: {type(err).__name__}: {err}"
        else:
            failure = None
        if failure:  # raised on its own: the message says everything, a chained traceback only hides it
            raise DatasetNotFoundError(cifar10_files.missing_message(root, failure))
    return _read_cache(str(path), path.stat().st_mtime)


class DatasetDamagedError(ValueError):
    """A dataset file exists but cannot be read; the message says which and how to fix it."""


@functools.lru_cache(maxsize=4)
def _read_cache(path: str, mtime: float) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"].astype(np.int64)
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError) as err:
        problem = f"{type(err).__name__}: {err}"
    else:
        problem = None
    if problem:
        raise DatasetDamagedError(cifar10_files.damaged_message(path, problem))
    if images.dtype != np.uint8 or images.shape[1:] != (32, 32, 3) or len(images) != len(labels):
        raise ValueError(f"{path} is not a CIFAR-10 cache: images {images.shape} {images.dtype}, "
                         f"labels {labels.shape}; expected (N,32,32,3) uint8 and (N,)")
    images.flags.writeable = False  # shared between callers through the lru_cache
    labels.flags.writeable = False
    return images, labels


def cifar10_stats(root: str | Path | None = None) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std (0..1 scale) of the full training set, used to normalise."""
    return _cifar10_stats(str(root if root is not None else data_dir()))


@functools.lru_cache(maxsize=4)
def _cifar10_stats(root: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    images, _ = load_cifar10("train", root)
    # Exact, and cheap: from each channel's histogram of byte values rather than a float copy.
    counts = np.stack([np.bincount(images[..., c].ravel(), minlength=256) for c in range(3)]).astype(np.float64)
    levels = np.arange(256) / 255
    n = counts.sum(1)
    mean = counts @ levels / n
    std = np.sqrt(counts @ levels**2 / n - mean**2)
    return tuple(mean.tolist()), tuple(std.tolist())


@dataclass
class TensorData:
    """Inputs ``x`` and targets ``y``, already on the device."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


def cifar10_tensors(split: str, size: int | None = None, *, device: str | torch.device = "cpu",
                    seed: int = 0, root: str | Path | None = None) -> TensorData:
    """A seeded random subset of ``size`` images of a split, normalised, channels-last, on ``device``.

    Cached in memory: asking again for the same subset returns the same tensors (do not
    modify them in place).
    """
    root = str(root if root is not None else data_dir())  # resolved first: BN_DATA_DIR may change
    return _cifar10_tensors(split, size, str(torch.device(device)), seed, root)


@functools.lru_cache(maxsize=8)
def _cifar10_tensors(split: str, size: int | None, device: str, seed: int, root: str) -> TensorData:
    images, labels = load_cifar10(split, root)
    if size is not None:
        if not 0 < size <= len(labels):
            raise ValueError(f"subset size {size} must be between 1 and {len(labels)} (CIFAR-10 {split})")
        index = np.sort(np.random.default_rng(seed).permutation(len(labels))[:size])
        images, labels = images[index], labels[index]
    mean, std = cifar10_stats(root)
    mean_t = torch.tensor(mean, device=device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, device=device).view(1, 3, 1, 1)
    # NHWC uint8 permuted to NCHW *is* the channels-last layout: upload bytes, convert there.
    images = images if images.flags.writeable else images.copy()  # torch wants a writable array
    x = torch.from_numpy(images).to(device).permute(0, 3, 1, 2)
    x = ((x.float() / 255 - mean_t) / std_t).contiguous(memory_format=torch.channels_last)
    return TensorData(x, torch.from_numpy(np.array(labels)).to(device))


def augment_batch(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop after ``pad``-pixel padding, and random horizontal flip, for a whole batch.

    The padding is zero in normalised units, i.e. the data set's mean colour (torchvision's
    RandomCrop pads with black before normalising; the difference is immaterial here).
    """
    n, c, h, w = x.shape
    dev = x.device
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator).to(dev)
    dx = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator).to(dev)
    flip = (torch.rand(n, 1, generator=generator) < 0.5).to(dev)
    rows = dy + torch.arange(h, device=dev)
    cols = dx + torch.arange(w, device=dev)
    cols = torch.where(flip, cols.flip(1), cols)  # a flip reverses the column order
    out = padded[torch.arange(n, device=dev).view(n, 1, 1, 1), torch.arange(c, device=dev).view(1, c, 1, 1),
                 rows.view(n, 1, h, 1), cols.view(n, 1, 1, w)]
    return out.contiguous(memory_format=torch.channels_last)


class BatchSampler:
    """Endless seeded mini-batches drawn by index on the device, a fresh permutation each epoch.

    When the batch is the whole data set (full-batch gradient descent) it is returned as is.
    """

    def __init__(self, data: TensorData, batch_size: int, seed: int = 0, augment: bool = False):
        if not 0 < batch_size <= len(data):
            raise ValueError(f"batch size {batch_size} must be between 1 and the data size {len(data)}")
        self.data, self.batch_size, self.augment = data, batch_size, augment
        self.generator = torch.Generator().manual_seed(seed)
        self._perm = torch.empty(0, dtype=torch.long)
        self._pos = 0

    def __iter__(self) -> BatchSampler:
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.batch_size == len(self.data) and not self.augment:
            return self.data.x, self.data.y
        if self._pos + self.batch_size > len(self._perm):  # drop the ragged end of an epoch
            self._perm = torch.randperm(len(self.data), generator=self.generator).to(self.data.y.device)
            self._pos = 0
        index = self._perm[self._pos:self._pos + self.batch_size]
        self._pos += self.batch_size
        x = self.data.x[index]  # plain indexing keeps channels-last (index_select does not)
        if self.augment:
            x = augment_batch(x, self.generator)
        return x, self.data.y[index]


def dln_data(n_samples: int, *, dim: int = 10, seed: int = 0,
             device: str | torch.device = "cpu") -> tuple[TensorData, TensorData, torch.Tensor]:
    """Synthetic data for the deep linear network (the paper's appendix; docs/protocol.md).

    x ~ N(0, I) in ``dim`` dimensions and target y = A x with a fixed random Gaussian
    ``dim``×``dim`` matrix A. Returns (train, test, A); the test set is ``n_samples`` fresh
    draws from the same distribution. The seed fixes A and both sets: one task instance.
    """
    if n_samples <= 0:
        raise ValueError(f"n_samples must be positive, got {n_samples}")
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(dim, dim, generator=g)
    x_train = torch.randn(n_samples, dim, generator=g)
    x_test = torch.randn(n_samples, dim, generator=g)
    to = functools.partial(torch.Tensor.to, device=device)
    return (TensorData(to(x_train), to(x_train @ a.T)), TensorData(to(x_test), to(x_test @ a.T)), to(a))
