"""Dataset loading: the bundled sample, the benchmark npz, the public OpenML table, and bad files."""

from __future__ import annotations

import numpy as np
import pytest

from fpgacompress.data import JET_CLASSES, JET_FEATURES, Standardizer, load_jets
from fpgacompress.errors import DataError


def test_bundled_sample_loads_offline_with_fixed_test_split():
    data = load_jets()
    assert data.feature_names == JET_FEATURES and data.class_names == JET_CLASSES
    assert data.x_train.shape[1] == 16 and data.x_train.dtype == np.float32
    assert len(data.y_test) > 5000 and len(data.y_val) > 2000
    assert set(np.unique(data.y_train)) == set(range(5))
    assert load_jets().x_test.tobytes() == data.x_test.tobytes()  # deterministic split


def test_standardization_is_fitted_on_the_training_split_only():
    data = load_jets()
    scaled, scaler = data.standardized()
    np.testing.assert_allclose(scaled.x_train.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(scaled.x_train.std(axis=0), 1, atol=1e-3)
    np.testing.assert_allclose(scaler.mean, data.x_train.mean(axis=0, dtype=np.float64))
    assert not np.allclose(scaled.x_test.mean(axis=0), 0, atol=1e-6)


def test_standardizer_round_trips_and_follows_feature_selection(tmp_path):
    data = load_jets()
    _, scaler = data.standardized()
    scaler.save(tmp_path / "scaler.json")
    assert Standardizer.load(tmp_path / "scaler.json") == scaler
    picked = ["mass_mmdt", "zlogz"]
    reduced = data.select_features(picked)
    np.testing.assert_array_equal(
        scaler.select(picked).transform(reduced.x_test), scaler.transform(data.x_test)[:, [14, 0]]
    )
    with pytest.raises(DataError, match="Unknown feature 'mass'"):
        data.select_features(["mass"])


def test_shared_benchmark_loads_with_its_fixed_test_split(shared_jets_path):
    data = load_jets(shared_jets_path)
    assert len(data.y_test) == 40000
    assert len(data.y_train) + len(data.y_val) == 160000


def _write_csv(path, rows=50, drop=None, nan=False):
    rng = np.random.default_rng(0)
    names = [name for name in JET_FEATURES if name != drop]
    lines = [",".join([*names, "class"])]
    for row in range(rows):
        values = [f"{value:.6g}" for value in rng.normal(size=len(names))]
        if nan and row == 7:
            values[3] = "nan"
        lines.append(",".join([*values, JET_CLASSES[row % 5]]))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_public_openml_csv_loads(tmp_path):
    data = load_jets(_write_csv(tmp_path / "hls4ml_lhc_jets_hlf.csv", rows=100))
    assert data.feature_names == JET_FEATURES
    assert len(data.y_test) == 20 and len(data.y_train) + len(data.y_val) == 80


def test_public_openml_arff_loads(tmp_path):
    header = ["@relation hls4ml_lhc_jets_hlf"]
    header += [f"@attribute {name} numeric" for name in JET_FEATURES]
    header += ["@attribute class {g,q,w,z,t}", "@data"]
    rows = [",".join(["0.5"] * 16 + [JET_CLASSES[i % 5]]) for i in range(20)]
    path = tmp_path / "jets.arff"
    path.write_text("\n".join(header + rows) + "\n")
    data = load_jets(path)
    assert len(data.y_test) == 4 and set(
        np.unique(np.concatenate([data.y_train, data.y_val, data.y_test]))
    ) == set(range(5))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "absent.npz", "Dataset file not found"),
        (lambda tmp: _write_csv(tmp / "cols.csv", drop="mass_mmdt"), "lacks the column\\(s\\) mass_mmdt"),
        (lambda tmp: _write_csv(tmp / "nan.csv", nan=True), "1 row\\(s\\) hold NaN or infinite features"),
        (
            lambda tmp: (tmp / "x.txt").write_text("1,2") and tmp / "x.txt",
            "Unsupported dataset file type '.txt'",
        ),
        (
            lambda tmp: (tmp / "bad.npz").write_bytes(b"garbage") and tmp / "bad.npz",
            "is not a .npz archive \\(not a zip file\\)",
        ),
    ],
)
def test_bad_dataset_files_give_clear_errors(tmp_path, make, message):
    with pytest.raises(DataError, match=message):
        load_jets(make(tmp_path))


def test_npz_without_inputs_is_refused_naming_what_it_holds(tmp_path):
    path = tmp_path / "partial.npz"
    np.savez(path, weights=np.zeros((4, 16), np.float32), y=np.zeros(4, np.int8))
    with pytest.raises(DataError, match="holds the arrays weights, y; expected the inputs as 'X'"):
        load_jets(path)


def test_users_own_npz_npy_and_csv_with_any_number_of_features(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 10)).astype(np.float32)
    labels = rng.integers(0, 3, 500)
    np.savez(tmp_path / "mine.npz", X=x, y=np.eye(3)[labels])  # one-hot labels, as Keras examples keep them
    np.save(tmp_path / "inputs.npy", x)
    header = ",".join([f"f{index}" for index in range(10)] + ["label"])
    rows = [
        ",".join([*(f"{value:.9g}" for value in row), ["b", "s", "x"][label]])
        for row, label in zip(x, labels, strict=True)
    ]
    (tmp_path / "mine.csv").write_text("\n".join([header, *rows]) + "\n")

    from_npz, from_npy, from_csv = (
        load_jets(tmp_path / "mine.npz"),
        load_jets(tmp_path / "inputs.npy", require_labels=False),
        load_jets(tmp_path / "mine.csv"),
    )
    for data in (from_npz, from_npy, from_csv):
        assert data.n_features == 10 and len(data.x_test) == 100  # the fixed 20 % test split
        np.testing.assert_array_equal(data.x_test, from_npy.x_test)
    assert from_npz.class_names == ("0", "1", "2") and from_csv.class_names == ("b", "s", "x")
    np.testing.assert_array_equal(from_npz.y_test, from_csv.y_test)
    assert from_csv.feature_names == tuple(f"f{index}" for index in range(10))
    assert from_npy.class_names == ("unlabelled",)
    with pytest.raises(DataError, match="holds no labels, which training needs"):
        load_jets(tmp_path / "inputs.npy")
