"""CIFAR-10 on disk: the official archive, downloaded and converted once into the project's cache
files (``cifar10/{train,test}.npz``), and the messages that say how to get them.

Kept apart from :mod:`helpers.data`, whose code reads the files for every run and so keys the run
cache: this code makes the files, once, before any run.
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np

from .paths import atomic_savez

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}

RESTART_NOTE = ("BN_DATA_DIR set in a terminal reaches only kernels started after it: restart the kernel "
                "(or set os.environ['BN_DATA_DIR'] in the notebook before the first experiment).")


def missing_message(root: Path, reason: str) -> str:
    return (
        f"CIFAR-10 is not in {root / 'cifar10'} ({reason}).\n"
        f"Either: connect to the internet and run again (it downloads {CIFAR10_URL}, 163 MB);\n"
        f"or download that file yourself and put it at {root / 'cifar10' / 'raw' / CIFAR10_ARCHIVE};\n"
        f"or set BN_DATA_DIR to a folder that holds cifar10/train.npz and cifar10/test.npz.\n{RESTART_NOTE}"
    )


def damaged_message(path: str, problem: str) -> str:
    raw = Path(path).parent / "raw" / CIFAR10_ARCHIVE
    rebuild = (f"it is rebuilt from {raw}" if raw.is_file() else f"it is downloaded again ({CIFAR10_URL})")
    return (f"{path} is damaged or truncated ({problem}).\nDelete it and run again: {rebuild}. Or point "
            f"BN_DATA_DIR at a folder with a good copy of cifar10/train.npz and cifar10/test.npz.\n{RESTART_NOTE}")


def download_cifar10(root: str | Path) -> None:
    """Download the official archive (MD5-checked by torchvision) and write the npz cache."""
    from torchvision.datasets.utils import download_and_extract_archive

    raw = Path(root) / "cifar10" / "raw"
    download_and_extract_archive(CIFAR10_URL, download_root=str(raw), filename=CIFAR10_ARCHIVE,
                                 md5=CIFAR10_MD5)
    extracted = raw / "cifar-10-batches-py"
    convert_cifar10_batches(extracted, Path(root) / "cifar10")
    shutil.rmtree(extracted)  # the archive stays, so a rebuild needs no download


def convert_cifar10_batches(batch_dir: str | Path, out_dir: str | Path) -> None:
    """Turn torchvision's ``cifar-10-batches-py`` pickles into ``train.npz`` and ``test.npz``."""
    batch_dir, out_dir = Path(batch_dir), Path(out_dir)
    for split, names in CIFAR10_BATCHES.items():
        images, labels = [], []
        for name in names:
            with open(batch_dir / name, "rb") as f:
                entry = pickle.load(f, encoding="latin1")  # the official format is a pickle
            images.append(np.asarray(entry["data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            labels.extend(entry["labels"])
        atomic_savez(out_dir / f"{split}.npz", images=np.ascontiguousarray(np.concatenate(images)),
                     labels=np.asarray(labels, np.int64))
