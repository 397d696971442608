"""Weight sharing (Deep Compression, Han et al. 2015): a per-layer k-means codebook of 2^b values.

Each Dense layer's nonzero weights are clustered into ``2**codebook_bits`` centroids (k-means,
linear initialization as the paper recommends); every weight then *is* its centroid. Fine-tuning
trains the centroids only, each with the average gradient of its weights, through the layer's
fixed-point weight quantizer, so the exported constants are ``quantized_bits(bits, integer)``
values. Pruned weights keep a separate, fixed code for zero.

What it buys on an FPGA, honestly: hls4ml's latency strategy unrolls every product into a
multiplier by a *constant*; there is no weight memory to shrink, so Deep Compression's storage
saving (indices instead of weights) does not apply. What does shrink is the number of *distinct*
constants: HLS computes each distinct (input, weight value) product once, so an input row with
4 distinct values needs at most 4 multipliers whatever its width. The estimator counts exactly
that (``count_dense``'s distinct products per input); ``scripts/bench_compression.py`` measures it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..config import TrainingConfig
from ..data import Dataset, Standardizer
from ..errors import ConfigError, ModelError
from ..pruning.mask import PruningMask
from ..training import TrainResult, save_run, train
from .chain import bias_quantizer_bits, constant_qdense, rebuild_chain
from .convert import quantize
from .report import QuantizationReport, quantization_report
from .spec import QuantizationSpec, QuantizationTable, save_spec

__all__ = [
    "CodebookDense",
    "SharingResult",
    "check_codebook",
    "cluster_weights",
    "share_weights",
    "export_codebook",
    "weight_sharing",
]


def check_codebook(n_clusters: int, weight_bits: int, where: str = "") -> None:
    """Refuse 0 clusters, and a codebook at least as wide as the weights' type.

    A ``bits``-bit weight type has ``2**bits - 1`` nonzero values; a codebook of ``2**b >= 2**bits``
    centroids cannot share anything, so ``b`` must be below ``bits``.
    """
    if n_clusters < 1:
        raise ConfigError(
            f"Weight sharing needs at least 1 cluster per layer{where}; received {n_clusters} clusters. "
            "Give --codebook-bits b >= 1 (2**b centroids)."
        )
    if n_clusters >= 2**weight_bits:
        raise ConfigError(
            f"A codebook of {n_clusters} centroids ({int(np.ceil(np.log2(n_clusters)))} bits) is not narrower than "
            f"the weights' type ({weight_bits} bits, {2**weight_bits - 1} nonzero values){where}: nothing would be "
            f"shared. Use --codebook-bits below {weight_bits}, or more weight bits."
        )


def cluster_weights(kernel: np.ndarray, n_clusters: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """k-means of the nonzero weights: ``(centroids, codes)``, code 0 = pruned, ``c`` = ``centroids[c - 1]``."""
    from sklearn.cluster import KMeans

    nonzero = kernel[kernel != 0].reshape(-1, 1).astype(np.float64)
    codes = np.zeros(kernel.shape, dtype=np.int32)
    if nonzero.size == 0:
        return np.zeros(n_clusters, dtype=np.float32), codes
    k = min(n_clusters, len(np.unique(nonzero)))
    init = np.linspace(nonzero.min(), nonzero.max(), k).reshape(-1, 1)  # linear init (Han et al.)
    kmeans = KMeans(n_clusters=k, init=init, n_init=1, random_state=seed).fit(nonzero)
    centroids = np.zeros(n_clusters, dtype=np.float32)
    centroids[:k] = kmeans.cluster_centers_.ravel()
    codes[kernel != 0] = kmeans.labels_.astype(np.int32) + 1
    return centroids, codes


@tf.keras.utils.register_keras_serializable(package="fpgacompress")
class CodebookDense(tf.keras.layers.Layer):
    """A Dense layer whose kernel is ``codebook[codes]``: trainable centroids, fixed assignments.

    Args:
        units: outputs.
        n_clusters: codebook size (``2**codebook_bits``).
        weight_bits, weight_integer: the centroids' ``quantized_bits`` type (the exported constants).
        bias_bits, bias_integer: the bias's ``quantized_bits`` (``None``: float bias).
    """

    def __init__(
        self,
        units: int,
        n_clusters: int,
        weight_bits: int = 6,
        weight_integer: int = 0,
        use_bias: bool = True,
        bias_bits: int | None = None,
        bias_integer: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = int(units)
        self.n_clusters = int(n_clusters)
        self.weight_bits = int(weight_bits)
        self.weight_integer = int(weight_integer)
        self.use_bias = bool(use_bias)
        self.bias_bits = None if bias_bits is None else int(bias_bits)
        self.bias_integer = int(bias_integer)

    def build(self, input_shape):
        n_in = int(input_shape[-1])
        self.centroids = self.add_weight(name="centroids", shape=(self.n_clusters,), initializer="zeros")
        self.codes = self.add_weight(
            name="codes", shape=(n_in, self.units), dtype=tf.int32, initializer="zeros", trainable=False
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.units,), initializer="zeros") if self.use_bias else None
        )
        super().build(input_shape)

    def quantized_centroids(self):
        """The centroids on the weight type's grid (straight-through), each with its cluster's mean gradient."""
        from qkeras import quantized_bits

        counts = tf.math.bincount(tf.reshape(self.codes, [-1]), minlength=self.n_clusters + 1)[1:]
        counts = tf.cast(tf.maximum(counts, 1), self.centroids.dtype)
        averaged = (
            tf.stop_gradient(self.centroids) + (self.centroids - tf.stop_gradient(self.centroids)) / counts
        )
        return quantized_bits(self.weight_bits, self.weight_integer, alpha=1)(averaged)

    @property
    def kernel(self):
        """The kernel the layer computes with (pruned weights are exactly zero)."""
        table = tf.concat([tf.zeros([1], self.centroids.dtype), self.quantized_centroids()], axis=0)
        return tf.gather(table, self.codes)

    def call(self, inputs):
        outputs = tf.matmul(inputs, self.kernel)
        if self.use_bias:
            bias = self.bias
            if self.bias_bits is not None:
                from qkeras import quantized_bits

                bias = quantized_bits(self.bias_bits, self.bias_integer, alpha=1)(bias)
            outputs = outputs + bias
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            n_clusters=self.n_clusters,
            weight_bits=self.weight_bits,
            weight_integer=self.weight_integer,
            use_bias=self.use_bias,
            bias_bits=self.bias_bits,
            bias_integer=self.bias_integer,
        )
        return config


def share_weights(qmodel, table: QuantizationTable, codebook_bits: int, *, seed: int = 0):
    """``qmodel`` (from :func:`quantize`) with every QDense replaced by a :class:`CodebookDense`.

    Raises:
        ConfigError: 0 clusters, a codebook not narrower than a layer's weight type, or non-fixed weights.
    """
    n_clusters = 2**codebook_bits if codebook_bits >= 0 else 0

    def replace(layer):
        if type(layer).__name__ != "QDense":
            return None
        weight = table.layers[layer.name].weight
        if weight.kind != "fixed":
            raise ConfigError(
                f"Weight sharing exports its centroids on a fixed-point grid; layer '{layer.name}' has weight kind "
                f"'{weight.kind}'. Use fixed weights (e.g. --bits 6) with --codebook-bits."
            )
        check_codebook(n_clusters, weight.bits, f" (layer '{layer.name}')")
        kernel, *rest = layer.get_weights()
        centroids, codes = cluster_weights(kernel, n_clusters, seed=seed)
        bias_type = bias_quantizer_bits(layer)
        shared = CodebookDense(
            layer.units,
            n_clusters,
            weight_bits=weight.bits,
            weight_integer=weight.integer or 0,
            use_bias=layer.use_bias,
            bias_bits=None if bias_type is None else bias_type[0],
            bias_integer=0 if bias_type is None else bias_type[1],
            name=layer.name,
        )

        def initialize(new_layer, centroids=centroids, codes=codes, rest=rest):
            new_layer.centroids.assign(centroids)
            new_layer.codes.assign(codes)
            if rest:
                new_layer.bias.assign(rest[0])

        return shared, initialize

    return rebuild_chain(qmodel, replace)


def export_codebook(model):
    """The firmware model: every :class:`CodebookDense` becomes a QDense holding exactly its shared kernel."""
    def replace(layer):
        if not isinstance(layer, CodebookDense):
            return None
        return constant_qdense(layer, layer.kernel.numpy())

    return rebuild_chain(model, replace)


@dataclass(frozen=True)
class SharingResult:
    """The weight-shared model, its bit-exact firmware export and what they cost."""

    model: object  # with CodebookDense layers
    exported: object  # QDense layers holding the shared constants (build this one)
    table: QuantizationTable
    mask: PruningMask
    distinct_values: dict[str, int]  # distinct nonzero constants per layer
    report: QuantizationReport
    training: TrainResult


def weight_sharing(
    model,
    spec: QuantizationSpec,
    data: Dataset,
    config: TrainingConfig | None = None,
    *,
    codebook_bits: int,
    standardizer: Standardizer | None = None,
    run_dir: str | Path | None = None,
    progress: bool = True,
) -> SharingResult:
    """Quantize ``model`` as ``spec`` says, share each layer's weights in 2^b centroids, fine-tune, export.

    ``run_dir`` gets the files of :func:`~fpgacompress.quantization.quantization_aware_training`,
    with ``model.h5`` the exported QKeras model, plus ``model_codebook.h5`` and ``codebook.json``.

    Raises:
        ConfigError: see :func:`share_weights`.
        ModelError: the export is not exactly the trained model.
    """
    mask = PruningMask.from_model(model)
    table = spec.resolve(model)
    seed = config.seed if config is not None else 0
    shared = share_weights(quantize(model, table), table, codebook_bits, seed=seed)
    training = train(shared, data, config, standardizer=standardizer, progress=progress)
    exported = export_codebook(shared)
    sample = data.x_test[:2000]
    if not np.array_equal(exported.predict(sample, verbose=0), shared.predict(sample, verbose=0)):
        raise ModelError("The exported QDense model does not reproduce the weight-shared model exactly.")
    regrown = mask.violations(exported)
    if regrown:
        raise ModelError(f"Pruned weights became nonzero in weight sharing: {regrown} (layer: count).")
    distinct = {
        layer.name: int(len(np.unique(layer.kernel.numpy()[layer.kernel.numpy() != 0])))
        for layer in shared.layers
        if isinstance(layer, CodebookDense)
    }
    report = quantization_report(exported)
    firmware_training = TrainResult(
        exported, training.history, training.metrics, standardizer, epochs_run=training.epochs_run
    )
    result = SharingResult(shared, exported, table, mask, distinct, report, firmware_training)
    if run_dir is not None:
        from ..model_io import save_model

        run_dir = Path(run_dir)
        firmware_training.run_dir = save_run(firmware_training, run_dir)
        save_model(shared, run_dir / "model_codebook.h5")
        save_spec(spec, run_dir / "quantization_spec.yaml")
        (run_dir / "quantization_table.json").write_text(json.dumps(table.to_dict(), indent=2))
        (run_dir / "quantization_report.json").write_text(json.dumps(report.to_dict(), indent=2))
        codebooks = {
            layer.name: sorted({float(v) for v in np.unique(layer.kernel.numpy()) if v != 0})
            for layer in shared.layers
            if isinstance(layer, CodebookDense)
        }
        (run_dir / "codebook.json").write_text(
            json.dumps({"codebook_bits": codebook_bits, "layers": codebooks}, indent=2)
        )
    return result
