"""Jet-substructure datasets: loading, the fixed test split, and input standardization.

Sources:

* the ``.npz`` layout of the regenerated benchmark (``X``, ``y``, ``feature_names``,
  ``class_names``, ``test_index``) — also the layout of the sample bundled with the package;
* the public hls4ml LHC jet dataset (OpenML ``hls4ml_lhc_jets_hlf``) from a file the user
  downloaded: CSV, ARFF or parquet, with the 16 feature columns and a ``class`` column;
* a user's own inputs with any number of features: an ``.npz`` with ``X`` (and optionally ``y``),
  a ``.npy`` array, or a numeric table (see :func:`load_jets`);
* a user's own sequences or images for a convolutional network: ``X`` of shape
  ``(rows, length, channels)`` or ``(rows, height, width, channels)``, channels_last; the
  ``feature_names`` are then the channel names.

The standardization is fitted on the training split only and travels with the model
(``preprocessing.json``): the firmware sees inputs scaled exactly as in training. For sequences and
images it is one mean and width per channel, over every position (a convolution shares its weights
across positions, so every position must be scaled alike).

Example:
    >>> from fpgacompress.data import load_jets
    >>> data = load_jets()              # the bundled sample, offline
    >>> data, scaler = data.standardized()
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .errors import DataError
from .paths import BUNDLED_JETS

__all__ = [
    "JET_FEATURES",
    "JET_CLASSES",
    "Dataset",
    "Standardizer",
    "load_jets",
    "load_npz",
    "load_npy",
    "load_table",
    "load_openml_jets",
    "UNLABELLED",
]

JET_FEATURES: tuple[str, ...] = (
    "zlogz",
    "c1_b0_mmdt",
    "c1_b1_mmdt",
    "c1_b2_mmdt",
    "c2_b1_mmdt",
    "c2_b2_mmdt",
    "d2_b1_mmdt",
    "d2_b2_mmdt",
    "d2_a1_b1_mmdt",
    "d2_a1_b2_mmdt",
    "m2_b1_mmdt",
    "m2_b2_mmdt",
    "n2_b1_mmdt",
    "n2_b2_mmdt",
    "mass_mmdt",
    "multiplicity",
)
JET_CLASSES: tuple[str, ...] = ("g", "q", "w", "z", "t")

_NPZ_KEYS = ("X", "y", "feature_names", "class_names", "test_index")
_TEST_SPLIT_SEED = 12345  # the seed the benchmark's own test split was drawn with
_TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Standardizer:
    """Per-feature ``(x - mean) / std``, fitted on the training split only."""

    feature_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, x: np.ndarray, feature_names: tuple[str, ...]) -> Standardizer:
        """Per-feature (per channel, over every position of a sequence or image) mean and width of ``x``."""
        x = np.asarray(x).reshape(-1, np.shape(x)[-1])
        mean = x.mean(axis=0, dtype=np.float64)
        std = x.std(axis=0, dtype=np.float64)
        std = np.where(std > 0, std, 1.0)  # a constant feature stays constant instead of dividing by 0
        return cls(tuple(feature_names), tuple(map(float, mean)), tuple(map(float, std)))

    def transform(self, x: np.ndarray) -> np.ndarray:
        if x.shape[-1] != len(self.mean):
            raise DataError(
                f"Input has {x.shape[-1]} features but the standardization expects {len(self.mean)} "
                f"({', '.join(self.feature_names)})."
            )
        mean = np.asarray(self.mean, dtype=np.float64)
        std = np.asarray(self.std, dtype=np.float64)
        return ((x - mean) / std).astype(np.float32)

    def select(self, feature_names: list[str] | tuple[str, ...]) -> Standardizer:
        """The same scaling restricted to (and reordered as) ``feature_names``."""
        index = [_feature_index(self.feature_names, name) for name in feature_names]
        return Standardizer(
            tuple(feature_names), tuple(self.mean[i] for i in index), tuple(self.std[i] for i in index)
        )

    def to_dict(self) -> dict:
        return {"feature_names": list(self.feature_names), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, payload: dict) -> Standardizer:
        try:
            return cls(tuple(payload["feature_names"]), tuple(payload["mean"]), tuple(payload["std"]))
        except (KeyError, TypeError) as error:
            raise DataError(f"Malformed standardization record: missing or wrong field ({error}).") from None

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: str | Path) -> Standardizer:
        path = Path(path)
        if not path.is_file():
            raise DataError(f"Standardization file not found: {path}.")
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except json.JSONDecodeError as error:
            raise DataError(f"Standardization file {path} is not valid JSON: {error}.") from None


@dataclass(frozen=True)
class Dataset:
    """Train / validation / test arrays with the names of their columns and classes.

    ``x_*`` are ``(rows, features)``, or channels_last ``(rows, *positions, channels)`` for a
    convolutional network, with ``feature_names`` then naming the channels. ``y_*`` hold integer
    class indices. The validation split is carved from the training
    split; the test split is the benchmark's fixed one and is never used for any choice.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one sample: ``(features,)``, ``(length, channels)`` or ``(height, width, channels)``."""
        return tuple(int(size) for size in self.x_train.shape[1:])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def standardized(self, standardizer: Standardizer | None = None) -> tuple[Dataset, Standardizer]:
        """Scale every split with ``standardizer`` (fitted on ``x_train`` when not given)."""
        scaler = standardizer or Standardizer.fit(self.x_train, self.feature_names)
        scaled = replace(
            self,
            x_train=scaler.transform(self.x_train),
            x_val=scaler.transform(self.x_val),
            x_test=scaler.transform(self.x_test),
        )
        return scaled, scaler

    def select_features(self, feature_names: list[str] | tuple[str, ...]) -> Dataset:
        """Keep only ``feature_names``, in that order (the input of a feature-pruned model)."""
        index = [_feature_index(self.feature_names, name) for name in feature_names]
        return replace(
            self,
            x_train=self.x_train[..., index],
            x_val=self.x_val[..., index],
            x_test=self.x_test[..., index],
            feature_names=tuple(feature_names),
        )

    def subsample(self, max_train: int | None = None, max_test: int | None = None, seed: int = 0) -> Dataset:
        """A smaller copy for quick experiments and tests (validation shrinks with the training split)."""
        rng = np.random.default_rng(seed)

        def take(x: np.ndarray, y: np.ndarray, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
            if limit is None or limit >= len(y):
                return x, y
            index = np.sort(rng.choice(len(y), size=limit, replace=False))
            return x[index], y[index]

        x_train, y_train = take(self.x_train, self.y_train, max_train)
        val_limit = None if max_train is None else max(1, max_train // 9)
        x_val, y_val = take(self.x_val, self.y_val, val_limit)
        x_test, y_test = take(self.x_test, self.y_test, max_test)
        return replace(
            self, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, x_test=x_test, y_test=y_test
        )


def load_jets(
    path: str | Path | None = None,
    *,
    validation_fraction: float = 0.1,
    seed: int = 0,
    require_labels: bool = True,
) -> Dataset:
    """Load a dataset by file type; ``None`` loads the jet sample bundled with the package.

    Besides the jet benchmark's ``.npz`` layout and the OpenML jet table, any number of features
    is read from a user's own file: an ``.npz`` with an ``X`` array (and optionally ``y``,
    ``feature_names``, ``class_names``, ``test_index``), a 2-D ``.npy`` array of inputs, or a
    ``.csv`` / ``.arff`` / ``.parquet`` table whose numeric columns are the features (a ``class`` /
    ``label`` / ``target`` / ``y`` column holds the labels). An ``.npz`` ``X`` or a ``.npy`` array
    may also hold sequences ``(rows, length, channels)`` or images ``(rows, height, width, channels)``
    for a convolutional network (channels_last; ``feature_names`` then name the channels). Without a ``test_index`` a fixed 20 %
    test split is drawn with the benchmark's seed.

    Args:
        require_labels: refuse a file without labels (training needs them; a test-bench does not,
            and an unlabelled file gets the single class ``unlabelled``).
    """
    path = BUNDLED_JETS if path is None else Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        dataset = load_npz(path, validation_fraction=validation_fraction, seed=seed)
    elif suffix == ".npy":
        dataset = load_npy(path, validation_fraction=validation_fraction, seed=seed)
    elif suffix in {".csv", ".arff", ".parquet"}:
        dataset = load_table(path, validation_fraction=validation_fraction, seed=seed)
    else:
        raise DataError(
            f"Unsupported dataset file type '{path.suffix}' for {path}. Expected .npz (arrays X [, y]), .npy "
            "(inputs: rows x features, or rows x length / height x width x channels) or .csv / .arff / .parquet "
            "(feature columns [+ a class column])."
        )
    if require_labels and dataset.class_names == (UNLABELLED,):
        raise DataError(
            f"{path} holds no labels, which training needs: add a 'y' array (.npz) or a 'class' column (.csv)."
        )
    return dataset


UNLABELLED = "unlabelled"
MAX_INPUT_RANK = 4  # rows x height x width x channels: the largest input hls4ml's Conv2D reads
_FEATURE_KEYS = ("X", "x", "features", "inputs")
_LABEL_KEYS = ("y", "labels", "label", "target")
_LABEL_COLUMNS = ("class", "label", "labels", "target", "y")


def load_npz(path: str | Path, *, validation_fraction: float = 0.1, seed: int = 0) -> Dataset:
    """Load an ``.npz``: the benchmark layout, or a user's arrays (``X`` and optionally ``y`` ...)."""
    path = _existing_file(path)
    if not zipfile.is_zipfile(path):
        raise DataError(
            f"{path} is not a .npz archive (not a zip file). Save the arrays with numpy.savez, or give a "
            ".csv / .npy file."
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = archive.files
            x_key = next((key for key in _FEATURE_KEYS if key in names), None)
            if x_key is None:
                raise DataError(
                    f"{path} holds the arrays {', '.join(names) or '(none)'}; expected the inputs as 'X' "
                    "(rows x features), and optionally 'y', 'feature_names', 'class_names', 'test_index'."
                )
            x = np.asarray(archive[x_key], dtype=np.float32)
            y_key = next((key for key in _LABEL_KEYS if key in names), None)
            labels = np.asarray(archive[y_key]) if y_key is not None else None
            feature_names = (
                tuple(str(name) for name in archive["feature_names"]) if "feature_names" in names else None
            )
            class_names = (
                tuple(str(name) for name in archive["class_names"]) if "class_names" in names else None
            )
            test_index = np.asarray(archive["test_index"], dtype=np.int64) if "test_index" in names else None
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(f"Cannot read {path} as a .npz archive (damaged?): {error}.") from None
    return _dataset(path, x, labels, feature_names, class_names, test_index, validation_fraction, seed)


def load_npy(path: str | Path, *, validation_fraction: float = 0.1, seed: int = 0) -> Dataset:
    """Load a ``.npy`` array of inputs (rows x features, or rows x positions x channels), without labels."""
    path = _existing_file(path)
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise DataError(
            f"Cannot read {path} as a .npy array (damaged, or not saved by numpy.save?): {error}."
        ) from None
    try:
        x = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError(
            f"{path} holds a {x.dtype} array; expected numbers (rows x features, or rows x ... x channels)."
        ) from None
    return _dataset(path, x, None, None, None, None, validation_fraction, seed)


def load_table(path: str | Path, *, validation_fraction: float = 0.1, seed: int = 0) -> Dataset:
    """Load a ``.csv`` / ``.arff`` / ``.parquet`` table: the OpenML jet table, or any numeric table."""
    path = _existing_file(path)
    columns = _read_table(path)
    if any(name in columns for name in JET_FEATURES):
        return load_openml_jets(path, validation_fraction=validation_fraction, seed=seed)
    label_column = next((name for name in _LABEL_COLUMNS if name in columns), None)
    feature_names = tuple(name for name in columns if name != label_column)
    if not feature_names:
        raise DataError(f"{path} has no feature columns.")
    try:
        x = np.stack([np.asarray(columns[name], dtype=np.float32) for name in feature_names], axis=1)
    except ValueError as error:
        raise DataError(
            f"{path}: a feature column is not numeric ({error}); only the label column ({', '.join(_LABEL_COLUMNS)}) "
            "may hold text."
        ) from None
    labels = None if label_column is None else np.array([_decode(label) for label in columns[label_column]])
    return _dataset(path, x, labels, feature_names, None, None, validation_fraction, seed)


def _dataset(
    path: Path,
    x: np.ndarray,
    labels: np.ndarray | None,
    feature_names: tuple[str, ...] | None,
    class_names: tuple[str, ...] | None,
    test_index: np.ndarray | None,
    validation_fraction: float,
    seed: int,
) -> Dataset:
    """A :class:`Dataset` from a user's arrays: names, labels and the test split filled in if absent."""
    if not 2 <= x.ndim <= MAX_INPUT_RANK or 0 in x.shape:
        raise DataError(
            f"{path}: the inputs have shape {x.shape}; expected a non-empty array of rows x features (2-D), "
            "rows x length x channels (3-D, a sequence) or rows x height x width x channels (4-D, an image, "
            "channels_last). For channels_first images, move the channels last: numpy.moveaxis(X, 1, -1)."
        )
    if feature_names is None:
        feature_names = tuple(f"x{index}" for index in range(x.shape[-1]))
    if labels is not None and labels.ndim == 2:  # one-hot labels, as Keras examples store them
        labels = np.argmax(labels, axis=1)
    if labels is not None and np.issubdtype(labels.dtype, np.floating) and np.all(labels == np.round(labels)):
        labels = labels.astype(np.int64)
    if labels is None:
        y, class_names = np.zeros(len(x), dtype=np.int64), (UNLABELLED,)
    elif class_names is not None or np.issubdtype(labels.dtype, np.integer):
        y = labels.astype(np.int64)
        if class_names is None:
            class_names = tuple(str(index) for index in range(int(y.max()) + 1 if len(y) else 1))
    else:  # text labels: classes in sorted order
        class_names = tuple(sorted({str(label) for label in labels}))
        y = np.array([class_names.index(str(label)) for label in labels], dtype=np.int64)
    _check_table(path, x, y, feature_names, class_names)
    if test_index is None:
        rng = np.random.default_rng(_TEST_SPLIT_SEED)
        test_index = rng.choice(len(y), size=max(1, int(round(_TEST_FRACTION * len(y)))), replace=False)
    if test_index.size and (test_index.min() < 0 or test_index.max() >= len(y)):
        raise DataError(f"{path}: test_index points outside the {len(y)} rows.")
    is_test = np.zeros(len(y), dtype=bool)
    is_test[test_index] = True
    if is_test.all():
        raise DataError(f"{path}: every row is in the test split; leave some rows for training / fitting.")
    return _split(x, y, is_test, feature_names, class_names, validation_fraction, seed)


def load_openml_jets(path: str | Path, *, validation_fraction: float = 0.1, seed: int = 0) -> Dataset:
    """Load the public hls4ml LHC jet table (OpenML ``hls4ml_lhc_jets_hlf``) from a local file.

    The public table has no fixed test split; one is drawn here with the benchmark's seed
    (20 % of the rows), so every run on the same file uses the same test jets.
    """
    path = _existing_file(path)
    columns = _read_table(path)
    missing = [name for name in (*JET_FEATURES, "class") if name not in columns]
    if missing:
        raise DataError(
            f"{path} lacks the column(s) {', '.join(missing)}; the hls4ml jet table has the 16 features "
            f"{', '.join(JET_FEATURES)} and a 'class' column."
        )
    try:
        x = np.stack([np.asarray(columns[name], dtype=np.float32) for name in JET_FEATURES], axis=1)
    except ValueError as error:
        raise DataError(f"{path}: a feature column is not numeric ({error}).") from None
    labels = np.array([_decode(label) for label in columns["class"]])
    unknown = sorted(set(labels) - set(JET_CLASSES))
    if unknown:
        raise DataError(
            f"{path}: unknown class label(s) {unknown}; expected one of {', '.join(JET_CLASSES)}."
        )
    y = np.array([JET_CLASSES.index(label) for label in labels], dtype=np.int64)
    _check_table(path, x, y, JET_FEATURES, JET_CLASSES)
    rng = np.random.default_rng(_TEST_SPLIT_SEED)
    test_index = rng.choice(len(y), size=int(round(_TEST_FRACTION * len(y))), replace=False)
    is_test = np.zeros(len(y), dtype=bool)
    is_test[test_index] = True
    return _split(x, y, is_test, JET_FEATURES, JET_CLASSES, validation_fraction, seed)


def _read_table(path: Path) -> dict[str, np.ndarray]:
    if path.suffix == ".csv":
        return _read_csv(path)
    if path.suffix == ".arff":
        return _read_arff(path)
    return _read_parquet(path)


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    try:
        table = np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding="utf-8", deletechars="")
    except ValueError as error:
        raise DataError(f"Cannot parse {path} as CSV with a header row: {error}.") from None
    if table.dtype.names is None:
        raise DataError(f"{path} has no header row naming its columns.")
    return {name.strip().strip('"'): np.atleast_1d(table[name]) for name in table.dtype.names}


def _read_arff(path: Path) -> dict[str, np.ndarray]:
    from scipy.io import arff

    try:
        records, _meta = arff.loadarff(path)
    except (ValueError, arff.ArffError, NotImplementedError) as error:
        raise DataError(f"Cannot parse {path} as ARFF: {error}.") from None
    return {name: records[name] for name in records.dtype.names}


def _read_parquet(path: Path) -> dict[str, np.ndarray]:
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise DataError(
            f"Reading {path} needs pyarrow: `pip install pyarrow`, or export the table as CSV."
        ) from None
    table = parquet.read_table(path)
    return {name: table.column(name).to_numpy() for name in table.column_names}


def _decode(label: object) -> str:
    return (label.decode() if isinstance(label, bytes) else str(label)).strip().strip("'\"")


def _existing_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"Dataset file not found: {path}. Give the path of a .npz, .csv, .arff or .parquet file."
        )
    return path


def _check_table(
    path: Path, x: np.ndarray, y: np.ndarray, feature_names: tuple[str, ...], class_names: tuple[str, ...]
) -> None:
    if x.ndim < 2 or x.shape[0] != len(y):
        raise DataError(
            f"{path}: X has shape {x.shape} but y has {len(y)} rows; expected X of shape [rows, features] "
            "(or [rows, ..., channels])."
        )
    if x.shape[-1] != len(feature_names):
        what = "columns" if x.ndim == 2 else "channels (last axis)"
        raise DataError(f"{path}: X has {x.shape[-1]} {what} but {len(feature_names)} feature names.")
    if len(y) == 0:
        raise DataError(f"{path} holds no rows.")
    bad_rows = np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))
    if bad_rows.size:
        raise DataError(
            f"{path}: {bad_rows.size} row(s) hold NaN or infinite features (first: row {bad_rows[0]}); "
            "drop or impute them before training."
        )
    if y.min() < 0 or y.max() >= len(class_names):
        raise DataError(f"{path}: labels must be in 0..{len(class_names) - 1} ({', '.join(class_names)}).")


def _split(
    x: np.ndarray,
    y: np.ndarray,
    is_test: np.ndarray,
    feature_names: tuple[str, ...],
    class_names: tuple[str, ...],
    validation_fraction: float,
    seed: int,
) -> Dataset:
    if not 0 < validation_fraction < 1:
        raise DataError(f"validation_fraction must be in (0, 1). Received: {validation_fraction}.")
    x_rest, y_rest = x[~is_test], y[~is_test]
    is_val = np.zeros(len(y_rest), dtype=bool)
    n_val = max(1, int(round(validation_fraction * len(y_rest))))
    is_val[np.random.default_rng(seed).choice(len(y_rest), size=n_val, replace=False)] = True
    return Dataset(
        x_train=x_rest[~is_val],
        y_train=y_rest[~is_val],
        x_val=x_rest[is_val],
        y_val=y_rest[is_val],
        x_test=x[is_test],
        y_test=y[is_test],
        feature_names=feature_names,
        class_names=class_names,
    )


def _feature_index(feature_names: tuple[str, ...], name: str) -> int:
    if name not in feature_names:
        raise DataError(f"Unknown feature '{name}'. Available: {', '.join(feature_names)}.")
    return feature_names.index(name)
