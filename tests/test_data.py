import numpy as np
import pytest
import torch

from helpers import cifar10_files
from helpers.data import (
    BatchSampler,
    DatasetNotFoundError,
    TensorData,
    augment_batch,
    cifar10_stats,
    cifar10_tensors,
    dln_data,
    load_cifar10,
)
from helpers.paths import data_dir, runs_dir

from .cifar_fixtures import write_archive, write_torchvision_batches
from .tolerances import unit_roundoff


def test_converting_torchvision_batches_gives_the_same_images_and_labels(tmp_path, fake_data):
    batches = write_torchvision_batches(tmp_path / "cifar-10-batches-py", fake_data)
    cifar10_files.convert_cifar10_batches(batches, tmp_path / "out")
    for split, (images, labels) in fake_data.items():
        with np.load(tmp_path / "out" / f"{split}.npz", allow_pickle=False) as z:
            np.testing.assert_array_equal(z["images"], images)
            np.testing.assert_array_equal(z["labels"], labels)
            assert z["labels"].dtype == np.int64


def test_missing_cache_is_downloaded_checksum_verified_and_converted(tmp_path, fake_data, monkeypatch, http_folder):
    folder, url = http_folder
    md5 = write_archive(folder / "cifar-10-python.tar.gz", fake_data)
    monkeypatch.setattr(cifar10_files, "CIFAR10_URL", f"{url}/cifar-10-python.tar.gz")
    monkeypatch.setattr(cifar10_files, "CIFAR10_MD5", md5)
    monkeypatch.delenv("BN_NO_DOWNLOAD", raising=False)
    root = tmp_path / "data"
    images, labels = load_cifar10("test", root=root)
    np.testing.assert_array_equal(images, fake_data["test"][0])
    np.testing.assert_array_equal(labels, fake_data["test"][1])
    assert (root / "cifar10" / "train.npz").is_file()
    assert (root / "cifar10" / "raw" / "cifar-10-python.tar.gz").is_file()  # kept for rebuilding
    assert not (root / "cifar10" / "raw" / "cifar-10-batches-py").exists()  # extracted copy removed


def test_download_with_wrong_checksum_fails_with_instructions(tmp_path, fake_data, monkeypatch, http_folder):
    folder, url = http_folder
    write_archive(folder / "cifar-10-python.tar.gz", fake_data)
    monkeypatch.setattr(cifar10_files, "CIFAR10_URL", f"{url}/cifar-10-python.tar.gz")
    monkeypatch.setattr(cifar10_files, "CIFAR10_MD5", "0" * 32)
    monkeypatch.delenv("BN_NO_DOWNLOAD", raising=False)
    with pytest.raises(DatasetNotFoundError, match="download failed"):
        load_cifar10("train", root=tmp_path / "data")
    assert not (tmp_path / "data" / "cifar10" / "train.npz").exists()


def test_offline_missing_dataset_says_what_to_download_and_where(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar10_files, "CIFAR10_URL", "http://127.0.0.1:9/cifar-10-python.tar.gz")  # refused
    monkeypatch.delenv("BN_NO_DOWNLOAD", raising=False)
    with pytest.raises(DatasetNotFoundError) as err:
        load_cifar10("train", root=tmp_path / "data")
    message = str(err.value)
    assert "cifar-10-python.tar.gz" in message and str(tmp_path / "data" / "cifar10" / "raw") in message
    assert "BN_DATA_DIR" in message


def test_no_download_switch_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("BN_NO_DOWNLOAD", "1")
    monkeypatch.setattr(cifar10_files, "download_cifar10", lambda root: pytest.fail("tried to download"))
    with pytest.raises(DatasetNotFoundError, match="switched off"):
        load_cifar10("train", root=tmp_path)


def test_unknown_split_is_a_clear_error(cifar_dir):
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_cifar10("validation")


def test_data_dir_follows_env_and_run_cache_does_not(tmp_path, monkeypatch):
    monkeypatch.delenv("BN_RUNS_DIR", raising=False)
    monkeypatch.setenv("BN_DATA_DIR", str(tmp_path / "readonly"))
    assert data_dir() == tmp_path / "readonly"
    assert not runs_dir().is_relative_to(tmp_path)  # a read-only dataset folder is never written to
    assert runs_dir().name == "runs"


def test_default_data_dir_is_found_from_the_package_not_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("BN_DATA_DIR", raising=False)
    before = data_dir()
    monkeypatch.chdir(tmp_path)
    assert data_dir() == before and before.is_absolute()


def test_tensors_are_normalised_channels_last_and_seeded_subsets(cifar_dir):
    full = cifar10_tensors("train")
    assert full.x.shape == (250, 3, 32, 32) and full.x.dtype == torch.float32
    assert full.x.is_contiguous(memory_format=torch.channels_last)
    # Mean 0 and std 1 up to float32 rounding: each value is rounded three times (÷ 255, − μ, ÷ σ) and
    # μ, σ once each, at most 5u·(1 + 1/σ) apart from the exact value (u = 6e-8). Summed in float64.
    bound = 5 * unit_roundoff(torch.float32) * (1 + 1 / min(cifar10_stats()[1]))
    torch.testing.assert_close(full.x.double().mean((0, 2, 3)), torch.zeros(3, dtype=torch.float64), atol=bound,
                               rtol=0)
    torch.testing.assert_close(full.x.double().std((0, 2, 3), unbiased=False), torch.ones(3, dtype=torch.float64),
                               atol=bound, rtol=0)
    a, b, c = (cifar10_tensors("train", 100, seed=s) for s in (1, 1, 2))
    assert torch.equal(a.y, b.y) and torch.equal(a.x, b.x)
    assert not torch.equal(a.x, c.x)
    with pytest.raises(ValueError, match="between 1 and 250"):
        cifar10_tensors("train", 251)


def test_stats_match_numpy(cifar_dir, fake_data):
    images = fake_data["train"][0].reshape(-1, 3) / 255
    mean, std = cifar10_stats()
    # float64 both ways (histograms against the values); the std as √(E[x²] − μ²) loses about
    # E[x²]/σ² ≈ 4 times u₆₄ to cancellation
    np.testing.assert_allclose(mean, images.mean(0), rtol=1e-10)
    np.testing.assert_allclose(std, images.std(0), rtol=1e-8)


def test_sampler_visits_every_example_once_per_epoch_and_is_seeded():
    data = TensorData(torch.arange(40.0).view(40, 1, 1, 1).expand(40, 3, 2, 2).contiguous(), torch.arange(40))
    sampler = BatchSampler(data, 8, seed=3)
    epoch = torch.cat([next(sampler)[1] for _ in range(5)])
    assert sorted(epoch.tolist()) == list(range(40))
    again = BatchSampler(data, 8, seed=3)
    assert torch.equal(torch.cat([next(again)[1] for _ in range(5)]), epoch)
    x, y = next(BatchSampler(data, 8, seed=3))
    assert torch.equal(x[:, 0, 0, 0], y.float())  # inputs and targets stay paired


def test_full_batch_sampler_returns_the_whole_set():
    data = TensorData(torch.randn(10, 4), torch.randn(10, 4))
    x, y = next(BatchSampler(data, 10))
    assert x is data.x and y is data.y


def test_batch_larger_than_data_is_a_clear_error():
    with pytest.raises(ValueError, match="batch size 11"):
        BatchSampler(TensorData(torch.zeros(10, 2), torch.zeros(10)), 11)


def test_augmentation_is_a_padded_crop_possibly_flipped():
    x = torch.randn(64, 3, 32, 32)
    out = augment_batch(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.is_contiguous(memory_format=torch.channels_last)
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    flips = 0
    for i in range(len(x)):
        crops = [(padded[i, :, dy:dy + 32, dx:dx + 32], f) for dy in range(9) for dx in range(9) for f in (0, 1)]
        matches = [f for crop, f in crops if torch.equal(crop.flip(-1) if f else crop, out[i])]
        assert matches, f"image {i} is no crop of the padded input"
        flips += matches[0]
    assert 10 < flips < 54  # about half are flipped


def test_dln_data_is_a_fixed_linear_map_of_gaussian_inputs():
    train, test, a = dln_data(500, seed=0)
    assert train.x.shape == (500, 10) and a.shape == (10, 10)
    assert torch.equal(train.y, train.x @ a.T) and torch.equal(test.y, test.x @ a.T)  # the same product: exact
    # statistical: the mean of 5,000 standard normal draws has a standard error of 0.014, their std 0.010
    assert abs(float(train.x.mean())) < 0.1 and abs(float(train.x.std()) - 1) < 0.1
    train2, _, a2 = dln_data(500, seed=0)
    assert torch.equal(a, a2) and torch.equal(train.x, train2.x)
    assert not torch.equal(a, dln_data(500, seed=1)[2])
