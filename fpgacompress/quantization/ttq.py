"""Trained ternary quantization (Zhu, Han, Mao, Dally 2017), exported bit-exact for the firmware.

QKeras' ``ternary(alpha=1)`` puts every weight in {-1, 0, +1}: five to ten times the size of the
trained weights, so the ranges blow up layer after layer. TTQ learns, per layer, a positive scale
``W+`` and a negative scale ``W-``; a latent float kernel decides which weights are ``+W+``, ``0``
or ``-W-`` through the threshold ``threshold * max|w|``. Both scales are fixed-point constants on
the grid of the layer's weight type (``quantized_bits(bits, integer)``), or powers of two on it
(``power_of_two``: every product is then a shift, no multiplier and no adder).

:class:`TTQDense` is the training layer. :func:`export_ttq` replaces it by a ``QDense`` whose
kernel holds exactly ``{+W+, 0, -W-}`` with that ``quantized_bits`` quantizer, which leaves grid
values unchanged: the exported model computes bit for bit what the trained one did, and hls4ml
builds it like any QDense (``fixed<bits, integer+1>`` weights), so ``fpgacompress csim`` is
bit-exact. Pruned weights stay zero: a zero latent weight is never above the threshold, and a
:class:`~fpgacompress.pruning.mask.KernelMask` holds the latent zeros during training.
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
from ..pruning.mask import KernelMask, PruningMask
from ..training import TrainResult, save_run, train
from .chain import bias_quantizer_bits, constant_qdense, rebuild_chain
from .convert import quantize
from .report import QuantizationReport, quantization_report
from .spec import QuantizationSpec, QuantizationTable, save_spec

__all__ = [
    "TTQDense",
    "TTQResult",
    "DEFAULT_TTQ_THRESHOLD",
    "ternarize",
    "ternary_layer_names",
    "export_ttq",
    "trained_ternary_quantization",
    "scale_grid",
]

DEFAULT_TTQ_THRESHOLD = 0.05  # the paper's t: a weight is nonzero above 5 % of the layer's largest


def scale_grid(bits: int, integer: int) -> tuple[float, float]:
    """``(step, largest)`` of the positive values of ``quantized_bits(bits, integer)``.

    Example:
        >>> scale_grid(6, 0)
        (0.03125, 0.96875)
    """
    step = 2.0 ** (integer + 1 - bits)
    return step, 2.0**integer - step


def _fixed_scale(scale, bits: int, integer: int, power_of_two: bool):
    """A positive scale on the weight type's grid, with a straight-through gradient."""
    step, largest = scale_grid(bits, integer)
    magnitude = tf.clip_by_value(tf.abs(scale), step, largest)
    if power_of_two:
        exponent = tf.round(tf.math.log(magnitude) / np.log(2.0))
        exponent = tf.clip_by_value(exponent, float(np.log2(step)), float(max(integer - 1, np.log2(step))))
        quantized = tf.pow(2.0, exponent)
    else:
        quantized = tf.round(magnitude / step) * step
    return scale + tf.stop_gradient(quantized - scale)


@tf.keras.utils.register_keras_serializable(package="fpgacompress")
class TTQDense(tf.keras.layers.Dense):
    """A Dense layer with trained ternary weights ``{+W+, 0, -W-}`` on a fixed-point grid.

    Args:
        units: outputs.
        weight_bits, weight_integer: the fixed-point type of the scales (``quantized_bits``).
        threshold: ``t`` of the paper: weights with ``|w| <= t * max|w|`` are zero.
        power_of_two: round the scales to powers of two (shifts in the firmware).
        bias_bits, bias_integer: the bias's ``quantized_bits`` (``None``: float bias).
    """

    def __init__(
        self,
        units: int,
        weight_bits: int = 6,
        weight_integer: int = 0,
        threshold: float = DEFAULT_TTQ_THRESHOLD,
        power_of_two: bool = False,
        bias_bits: int | None = None,
        bias_integer: int = 0,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self.weight_bits = int(weight_bits)
        self.weight_integer = int(weight_integer)
        self.threshold = float(threshold)
        self.power_of_two = bool(power_of_two)
        self.bias_bits = None if bias_bits is None else int(bias_bits)
        self.bias_integer = int(bias_integer)

    def build(self, input_shape):
        super().build(input_shape)
        self.positive_scale = self.add_weight(name="positive_scale", shape=(), initializer="ones")
        self.negative_scale = self.add_weight(name="negative_scale", shape=(), initializer="ones")

    def ternary_kernel(self):
        """The kernel the layer computes with: ``+W+``, ``0`` or ``-W-`` per weight.

        Gradients follow the paper: each scale gets the summed gradient of its weights, the latent
        weights get it times their scale (times 1 in the zero band).
        """
        latent = self.kernel
        delta = tf.stop_gradient(self.threshold * tf.reduce_max(tf.abs(latent)))
        positive = tf.cast(latent > delta, latent.dtype)
        negative = tf.cast(latent < -delta, latent.dtype)
        w_plus = _fixed_scale(self.positive_scale, self.weight_bits, self.weight_integer, self.power_of_two)
        w_minus = _fixed_scale(self.negative_scale, self.weight_bits, self.weight_integer, self.power_of_two)
        ternary = w_plus * positive - w_minus * negative
        factor = tf.stop_gradient(w_plus * positive + w_minus * negative + (1.0 - positive - negative))
        return ternary + (factor * latent - tf.stop_gradient(factor * latent))  # value: exactly ternary

    def quantized_bias(self):
        if self.bias_bits is None:
            return self.bias
        from qkeras import quantized_bits

        return quantized_bits(self.bias_bits, self.bias_integer, alpha=1)(self.bias)

    def call(self, inputs):
        outputs = tf.matmul(inputs, self.ternary_kernel())
        if self.use_bias:
            outputs = outputs + self.quantized_bias()
        return outputs

    def scales(self) -> tuple[float, float]:
        """``(W+, W-)`` as the firmware holds them."""
        return (
            float(
                _fixed_scale(self.positive_scale, self.weight_bits, self.weight_integer, self.power_of_two)
            ),
            float(
                _fixed_scale(self.negative_scale, self.weight_bits, self.weight_integer, self.power_of_two)
            ),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            weight_bits=self.weight_bits,
            weight_integer=self.weight_integer,
            threshold=self.threshold,
            power_of_two=self.power_of_two,
            bias_bits=self.bias_bits,
            bias_integer=self.bias_integer,
        )
        return config


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold < 1.0:
        raise ConfigError(
            f"The TTQ threshold is a fraction of each layer's largest weight, in (0, 1); received "
            f"threshold={threshold}. The paper uses 0.05."
        )


def ternary_layer_names(
    qmodel, layers: list[str] | None = None, *, ternary_first_and_last: bool = False
) -> list[str]:
    """The Dense layers TTQ makes ternary: ``layers`` if given, else every Dense layer but the first
    and the last (all of them with ``ternary_first_and_last``).

    The first and last layers stay on the spec's fixed-point weights by default, as in the TTQ paper
    and the hls4ml / QKeras ternary studies: the first sees the raw features (16 on the jets, so a
    ternary first layer has very few weights per output to average its error over) and the last sets
    the logits directly. On the jets this is worth about 4 points of accuracy for about 9 % more
    estimated LUT (docs/benchmarks.md, issue 16, second pass).

    Raises:
        ConfigError: ``layers`` names a layer that is not a Dense layer, comes with
            ``ternary_first_and_last``, or no layer is left to make ternary (a model with only a first
            and a last Dense layer, without ``ternary_first_and_last``).
    """
    dense = [layer.name for layer in qmodel.layers if type(layer).__name__ == "QDense"]
    if layers is not None and ternary_first_and_last:
        raise ConfigError(
            f"Give either the TTQ layers ({', '.join(layers)}) or ternary_first_and_last "
            f"(--ttq-first-and-last), not both: the layers already say which Dense layers are ternary."
        )
    if layers is not None:
        unknown = sorted(set(layers) - set(dense))
        if unknown:
            raise ConfigError(
                f"TTQ layers {unknown} are not Dense layers of the model; Dense layers: {', '.join(dense)}."
            )
        return [name for name in dense if name in layers]
    chosen = dense if ternary_first_and_last else dense[1:-1]
    if not chosen:
        raise ConfigError(
            f"TTQ keeps the first and last Dense layers fixed-point and this model has no other Dense layer "
            f"(Dense layers: {', '.join(dense)}); make them ternary with ternary_first_and_last=True "
            f"(--ttq-first-and-last) or name them with layers (--ttq-layers)."
        )
    return chosen


def ternarize(
    qmodel,
    table: QuantizationTable,
    *,
    threshold: float = DEFAULT_TTQ_THRESHOLD,
    power_of_two: bool = False,
    layers: list[str] | None = None,
    ternary_first_and_last: bool = False,
):
    """``qmodel`` (from :func:`quantize`) with its hidden QDense layers (or ``layers``) made :class:`TTQDense`.

    The latent kernel starts from the float weights; each scale from the mean magnitude of the
    weights it will stand for (the paper's initialization). Pruned zeros are held by a KernelMask.
    Which layers: :func:`ternary_layer_names`; the others stay QDense with the spec's fixed-point
    weights.

    Raises:
        ConfigError: a layer's weight precision is not ``fixed`` (the scales need a fixed-point grid),
            ``layers`` names a layer that is not a QDense, or no layer is left to make ternary.
    """
    _check_threshold(threshold)
    layers = ternary_layer_names(qmodel, layers, ternary_first_and_last=ternary_first_and_last)

    def replace(layer):
        if layer.name not in layers:
            return None
        weight = table.layers[layer.name].weight
        if weight.kind != "fixed":
            raise ConfigError(
                f"Trained ternary quantization puts its scales on the fixed-point grid of the weight type; layer "
                f"'{layer.name}' has weight kind '{weight.kind}'. Use fixed weights (e.g. --bits 6) with --weights ttq."
            )
        kernel, *rest = layer.get_weights()
        bias_type = bias_quantizer_bits(layer)
        kept = kernel != 0
        ttq = TTQDense(
            layer.units,
            weight_bits=weight.bits,
            weight_integer=weight.integer or 0,
            threshold=threshold,
            power_of_two=power_of_two,
            bias_bits=None if bias_type is None else bias_type[0],
            bias_integer=0 if bias_type is None else bias_type[1],
            use_bias=layer.use_bias,
            kernel_constraint=None if kept.all() else KernelMask(kept),
            kernel_regularizer=layer.kernel_regularizer,
            name=layer.name,
        )

        def initialize(new_layer, kernel=kernel, rest=rest):
            delta = threshold * np.abs(kernel).max()
            above, below = kernel[kernel > delta], -kernel[kernel < -delta]
            step = scale_grid(weight.bits, weight.integer or 0)[0]
            new_layer.set_weights(
                [
                    kernel,
                    *rest,
                    np.float32(above.mean() if above.size else step),
                    np.float32(below.mean() if below.size else step),
                ]
            )

        return ttq, initialize

    return rebuild_chain(qmodel, replace)


def export_ttq(model):
    """The firmware model: every :class:`TTQDense` becomes a ``QDense`` holding exactly its ternary kernel.

    The kernel quantizer is the scales' ``quantized_bits(bits, integer, alpha=1)``, which maps
    ``+W+``, ``0`` and ``-W-`` to themselves; the bias keeps its quantizer. Zeros are held by a
    KernelMask so a further fine-tune of the export cannot regrow them.
    """
    def replace(layer):
        if not isinstance(layer, TTQDense):
            return None
        kernel = layer.ternary_kernel().numpy()
        qdense, set_weights = constant_qdense(layer, kernel)

        def initialize(new_layer):
            set_weights(new_layer)
            exported = np.asarray(new_layer.kernel_quantizer_internal(new_layer.kernel).numpy())
            if not np.array_equal(exported, kernel):
                raise ModelError(
                    f"Layer '{layer.name}': the ternary scales {layer.scales()} are not on the grid of "
                    f"quantized_bits({layer.weight_bits}, {layer.weight_integer}); the export would not be exact."
                )

        return qdense, initialize

    return rebuild_chain(model, replace)


@dataclass(frozen=True)
class TTQResult:
    """The trained ternary model, its bit-exact firmware export and what they cost."""

    model: object  # with TTQDense layers (train further with it)
    exported: object  # QDense layers with the ternary constants (build this one)
    table: QuantizationTable
    mask: PruningMask
    scales: dict[str, tuple[float, float]]
    report: QuantizationReport
    training: TrainResult


def trained_ternary_quantization(
    model,
    spec: QuantizationSpec,
    data: Dataset,
    config: TrainingConfig | None = None,
    *,
    threshold: float = DEFAULT_TTQ_THRESHOLD,
    power_of_two: bool = False,
    layers: list[str] | None = None,
    ternary_first_and_last: bool = False,
    standardizer: Standardizer | None = None,
    run_dir: str | Path | None = None,
    progress: bool = True,
) -> TTQResult:
    """Quantize ``model`` as ``spec`` says, make its Dense layers TTQ, train, and export for the firmware.

    ``layers`` limits TTQ to those Dense layers (default: all but the first and the last, or all with
    ``ternary_first_and_last``; see :func:`ternary_layer_names`); the others get QAT as ``spec`` says.
    The fine-tune follows ``config``; the benchmark's recipe is a converged float model, then
    ``TrainingConfig(epochs=30, learning_rate_schedule="cosine", early_stopping_patience=None)``:
    at a constant learning rate the ternary assignments and power-of-two scales keep flipping and
    the accuracy swings by several points from epoch to epoch.
    ``spec``'s weight precision is the grid of the scales; activations, biases and the input are
    quantized as in :func:`~fpgacompress.quantization.quantization_aware_training`. ``run_dir``
    gets the same files as there, with ``model.h5`` the exported QKeras model (what ``build``
    takes), plus ``model_ttq.h5`` (the TTQDense model) and ``ttq_scales.json``.

    Raises:
        ModelError: a pruned weight regrew, or the export is not exactly the trained model.
    """
    _check_threshold(threshold)
    mask = PruningMask.from_model(model)
    table = spec.resolve(model)
    ternary = ternarize(
        quantize(model, table),
        table,
        threshold=threshold,
        power_of_two=power_of_two,
        layers=layers,
        ternary_first_and_last=ternary_first_and_last,
    )
    training = train(ternary, data, config, standardizer=standardizer, progress=progress)
    regrown = mask.violations(ternary)
    if regrown:
        raise ModelError(f"Pruned weights regrew during ternary training: {regrown} (layer: count).")
    exported = export_ttq(ternary)
    sample = data.x_test[:2000]
    if not np.array_equal(exported.predict(sample, verbose=0), ternary.predict(sample, verbose=0)):
        raise ModelError("The exported QDense model does not reproduce the TTQ model exactly.")
    scales = {layer.name: layer.scales() for layer in ternary.layers if isinstance(layer, TTQDense)}
    report = quantization_report(exported)
    firmware_training = TrainResult(
        exported, training.history, training.metrics, standardizer, epochs_run=training.epochs_run
    )
    result = TTQResult(ternary, exported, table, mask, scales, report, firmware_training)
    if run_dir is not None:
        from ..model_io import save_model

        run_dir = Path(run_dir)
        firmware_training.run_dir = save_run(firmware_training, run_dir)
        save_model(ternary, run_dir / "model_ttq.h5")
        save_spec(spec, run_dir / "quantization_spec.yaml")
        (run_dir / "quantization_table.json").write_text(json.dumps(table.to_dict(), indent=2))
        (run_dir / "quantization_report.json").write_text(json.dumps(report.to_dict(), indent=2))
        (run_dir / "ttq_scales.json").write_text(
            json.dumps(
                {
                    "threshold": threshold,
                    "power_of_two": power_of_two,
                    "fixed_point_layers": [
                        name
                        for name, precision in table.layers.items()
                        if precision.layer_type == "Dense" and name not in scales
                    ],
                    "layers": {name: {"positive": p, "negative": n} for name, (p, n) in scales.items()},
                },
                indent=2,
            )
        )
    return result
