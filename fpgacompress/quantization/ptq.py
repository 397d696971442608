"""Post-training quantization: a float model becomes the QKeras model its firmware computes exactly.

A float model's firmware can never match it bit for bit: hls4ml rounds every weight and sum to
fixed point. Post-training quantization makes that rounding explicit instead: batch norms that
follow a Dense are folded into it (``W' = W * scale``, ``b' = b * scale + shift``), per-layer
fixed-point types are chosen from the ranges the calibration data really produces
(:func:`~.suggest.suggest_precision`), and the result is an ordinary QKeras model. The firmware is
bit-exact against *it*; what the rounding costs is measured against the float model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .convert import layer_chain, quantize
from .spec import QuantizationSpec
from .suggest import suggest_precision

__all__ = ["PtqResult", "post_training_quantize", "fold_batch_norms", "DEFAULT_PTQ_BITS"]

DEFAULT_PTQ_BITS = 12


@dataclass(frozen=True)
class PtqResult:
    """A post-training-quantized model and what it cost.

    Attributes:
        model: the QKeras model (batch norms folded) the firmware reproduces bit for bit.
        spec: the per-layer precision chosen from the calibration data.
        folded_batch_norms: batch norms folded into the Dense before them.
        decision_agreement: fraction of the evaluation inputs on which the quantized and the float
            model decide alike (argmax, or the side of 0.5 for one sigmoid output).
        float_accuracy, quantized_accuracy: accuracies on the evaluation labels (``None`` without labels).
    """

    model: object
    spec: QuantizationSpec
    folded_batch_norms: tuple[str, ...]
    decision_agreement: float
    float_accuracy: float | None
    quantized_accuracy: float | None

    @property
    def accuracy_change(self) -> float | None:
        """Quantized minus float accuracy (negative: PTQ lost accuracy); ``None`` without labels."""
        if self.float_accuracy is None or self.quantized_accuracy is None:
            return None
        return self.quantized_accuracy - self.float_accuracy

    def to_dict(self) -> dict:
        return {
            "folded_batch_norms": list(self.folded_batch_norms),
            "decision_agreement": self.decision_agreement,
            "float_accuracy": self.float_accuracy,
            "quantized_accuracy": self.quantized_accuracy,
            "accuracy_change": self.accuracy_change,
            "precision": self.spec.model_dump(mode="json"),
        }


def fold_batch_norms(model):
    """``(model, folded)``: a copy of a float chain with every batch norm right after a linear Dense folded in.

    A batch norm elsewhere (after an activation, or after a Dense without bias) is kept: the firmware
    then computes it as a scale-and-shift, and the C-simulation reports fidelity instead of bit-exactness.
    """
    import tensorflow as tf

    from ..layer_kinds import KINDS
    from ..layer_kinds.batch_norm import BatchNormKind
    from ..layer_kinds.dense import DenseKind

    chain = layer_chain(model)
    inputs = tf.keras.Input(shape=model.input_shape[1:], name=model.layers[0].name)
    x, folded, pending = inputs, [], []  # pending: (new layer, weights) set once the graph is built
    previous = None  # (new Dense, its float weights) when the last layer is a linear Dense
    for layer in chain:
        kind = KINDS[type(layer).__name__]
        if isinstance(kind, BatchNormKind) and previous is not None:
            scale, shift = kind.folding(layer)
            dense, weights = previous
            weights[0] = (weights[0] * scale).astype(np.float32)
            weights[1] = (weights[1] * scale + shift).astype(np.float32)
            folded.append(layer.name)
            previous = None
            continue
        copy = type(layer).from_config(layer.get_config())
        x = copy(x)
        weights = [np.asarray(weight) for weight in layer.get_weights()]
        pending.append((copy, weights))
        # a batch norm folds into a linear Dense with a bias (its shift becomes part of the bias)
        linear_dense = isinstance(kind, DenseKind) and kind.fused_activation(layer) is None and layer.use_bias
        previous = (copy, weights) if linear_dense else None
    folded_model = tf.keras.Model(inputs, x, name=model.name)
    for copy, weights in pending:
        if weights:
            copy.set_weights(weights)
    return folded_model, tuple(folded)


def _decisions(probabilities: np.ndarray) -> np.ndarray:
    if probabilities.shape[1] == 1:
        return (probabilities[:, 0] > 0.5).astype(int)
    return np.argmax(probabilities, axis=1)


def post_training_quantize(
    model,
    x_calibration: np.ndarray,
    *,
    total_bits: int = DEFAULT_PTQ_BITS,
    x_evaluation: np.ndarray | None = None,
    y_evaluation: np.ndarray | None = None,
) -> PtqResult:
    """Fold batch norms, choose per-layer types from ``x_calibration``'s ranges, emit the QKeras model.

    Args:
        model: a float Keras MLP (Dense, activations, batch norms, dropouts).
        x_calibration: standardized inputs whose ranges set the integer bits (the training split).
        total_bits: width of every weight, bias, activation and the input.
        x_evaluation, y_evaluation: inputs (and labels) on which the float and quantized models are
            compared; ``None`` uses the calibration inputs and reports no accuracy.

    Raises:
        ModelError: the model is not a float chain of supported layers (e.g. already QKeras).
    """
    if any(type(layer).__name__.startswith("Q") for layer in model.layers):
        raise ConfigError(
            f"Model '{model.name}' already has QKeras layers; post-training quantization takes a float model. "
            "Build it as it is (its quantizers set the firmware types)."
        )
    folded_model, folded = fold_batch_norms(model)
    x_calibration = np.asarray(x_calibration, dtype=np.float32)
    spec = suggest_precision(folded_model, x_calibration, total_bits)
    quantized = quantize(folded_model, spec)
    x = x_calibration if x_evaluation is None else np.asarray(x_evaluation, dtype=np.float32)
    float_out = np.asarray(model.predict(x, batch_size=4096, verbose=0))
    quantized_out = np.asarray(quantized.predict(x, batch_size=4096, verbose=0))
    float_decisions, quantized_decisions = _decisions(float_out), _decisions(quantized_out)
    float_accuracy = quantized_accuracy = None
    if y_evaluation is not None and x_evaluation is not None:
        y = np.asarray(y_evaluation).reshape(-1).astype(int)
        float_accuracy = float(np.mean(float_decisions == y))
        quantized_accuracy = float(np.mean(quantized_decisions == y))
    return PtqResult(
        model=quantized,
        spec=spec,
        folded_batch_norms=folded,
        decision_agreement=float(np.mean(float_decisions == quantized_decisions)),
        float_accuracy=float_accuracy,
        quantized_accuracy=quantized_accuracy,
    )
