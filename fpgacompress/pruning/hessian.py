"""The diagonal of the loss Hessian per kernel weight, for optimal-brain-damage saliency.

Optimal brain damage (LeCun et al. 1990) ranks a weight by the loss its removal costs,
``1/2 * H_ii * w_i**2``, which needs the diagonal of the Hessian of the training loss.

We compute the **Gauss-Newton** (generalized Gauss-Newton, GGN) diagonal, exactly, not a sample:

- why Gauss-Newton and not the true Hessian: the true diagonal can be negative away from a minimum
  (a negative saliency says nothing useful), while the GGN is positive semi-definite and equals the
  Hessian for the last layer of a softmax classifier; it is what OBD's own "Levenberg-Marquardt"
  approximation amounts to;
- why not the empirical Fisher (squared gradients with the true labels): it vanishes for jets the
  model already classifies confidently and is a poor curvature estimate when the model is not at a
  minimum of the training loss (Kunstner et al. 2019);
- why not Hutchinson: it needs Hessian-vector products and many probes for a noisy diagonal; for a
  softmax cross-entropy the GGN factorizes over the classes, so the exact GGN diagonal costs one
  backward pass per class (five for the jet tagger) on each batch.

The factorization: with logits ``z``, probabilities ``p`` and loss ``-log p_y``, the Hessian of the
loss with respect to the logits is ``diag(p) - p p^T = sum_c p_c (e_c - p)(e_c - p)^T``. So, for a
dense kernel entry ``w_ij`` (input ``a_i``, pre-activation ``u_j``),
``GGN_ii = mean_n sum_c (a_ni * d(s_c . z_n)/du_nj)**2`` with ``s_c = sqrt(p_c) (e_c - p)`` — each
class contributes the square of a per-jet gradient, and a dense layer's per-jet gradient is the
outer product ``a_n (x) delta_n``, so the sum is ``(a**2)^T (delta**2)`` without per-jet loops.
A convolution shares each kernel weight over every output pixel, so its per-sample gradient is the
sum over pixels of ``patch_np (x) delta_np``; that sum is formed per sample before squaring.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..errors import ModelError
from .mask import prunable_layers

__all__ = ["diagonal_hessian"]


def _effective_kernel(layer):
    """The kernel the layer multiplies by: QDense applies its quantizer (straight-through gradient)."""
    quantizer = getattr(layer, "kernel_quantizer_internal", None)
    return quantizer(layer.kernel) if quantizer is not None else layer.kernel


def _is_softmax(function) -> bool:
    return getattr(function, "__name__", "") == "softmax"


def _is_convolution(layer) -> bool:
    return len(layer.kernel.shape) > 2


def _patches(layer, inputs):
    """The input patch each output pixel of a convolution sees: ``(batch, pixels, kernel weights per filter)``.

    Ordered like the kernel's leading axes (``kernel_size..., in_channels``), so a per-sample kernel
    gradient is ``patches^T @ delta`` summed over pixels. A ``Conv1D`` is read as a one-row ``Conv2D``;
    causal padding was already applied to ``inputs`` (see :func:`_forward`).
    """
    rank = len(layer.kernel.shape) - 2
    if rank == 1:
        inputs = inputs[:, None, :, :]
    if rank not in (1, 2):
        raise ModelError(f"Layer '{layer.name}': OBD saliency handles Conv1D and Conv2D kernels only.")
    spatial = lambda values: [1, *([1] if rank == 1 else []), *values, 1]  # noqa: E731
    padding = "VALID" if layer.padding in ("valid", "causal") else "SAME"
    patches = tf.image.extract_patches(
        inputs,
        sizes=spatial(layer.kernel_size),
        strides=spatial(layer.strides),
        rates=spatial(layer.dilation_rate),
        padding=padding,
    )
    return tf.reshape(patches, [tf.shape(patches)[0], -1, patches.shape[-1]])


def _forward(model, inputs, prunable: set[str]):
    """Run the chain of layers; return the inputs and pre-activations of prunable layers, and the logits."""
    activations, pre_activations = {}, {}
    current, logits = inputs, None
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.InputLayer):
            continue
        if layer.name in prunable:
            convolution = _is_convolution(layer)
            if convolution and layer.padding == "causal":
                current = tf.pad(current, layer._compute_causal_padding(current))
            activations[layer.name] = current
            kernel = _effective_kernel(layer)
            pre = layer.convolution_op(current, kernel) if convolution else tf.matmul(current, kernel)
            if getattr(layer, "use_bias", False) and layer.bias is not None:
                pre = pre + layer.bias
            pre_activations[layer.name] = pre
            if _is_softmax(layer.activation):
                logits, current = pre, tf.nn.softmax(pre)
            else:
                current = layer.activation(pre)
        elif _is_softmax(getattr(layer, "activation", None)) or isinstance(layer, tf.keras.layers.Softmax):
            logits, current = current, tf.nn.softmax(current)
        else:
            current = layer(current, training=False)
    if logits is None:
        raise ModelError(
            f"Model '{model.name}' does not end in a softmax: the Gauss-Newton Hessian (criterion 'obd' / "
            "'resource') is defined for a softmax classifier. Use criterion='magnitude'."
        )
    return activations, pre_activations, logits


def diagonal_hessian(
    model, x, *, batch_size: int = 1024, max_samples: int | None = 8192, seed: int = 0
) -> dict[str, np.ndarray]:
    """Gauss-Newton diagonal of the mean cross-entropy, per kernel of every Dense / QDense / convolution layer.

    The labels are not needed: the Gauss-Newton matrix of a softmax cross-entropy depends only on
    the model's own probabilities.

    Args:
        model: a Keras classifier that is a chain of layers ending in a softmax.
        x: training inputs (standardized, as the model sees them).
        batch_size: jets per backward pass.
        max_samples: use a random subset of this many jets (None: all of ``x``).
        seed: picks the subset.

    Returns:
        ``{layer name: array shaped like the kernel}``, all entries >= 0.
    """
    x = np.asarray(x, dtype=np.float32)
    if max_samples is not None and len(x) > max_samples:
        x = x[np.random.default_rng(seed).choice(len(x), max_samples, replace=False)]
    layers = prunable_layers(model)
    names = {layer.name for layer in layers}
    convolutions = {layer.name: layer for layer in layers if _is_convolution(layer)}
    if convolutions:
        batch_size = min(batch_size, 128)  # the per-sample patch products grow with the image
    sums = {layer.name: np.zeros(layer.kernel.shape, dtype=np.float64) for layer in layers}
    for start in range(0, len(x), batch_size):
        batch = tf.constant(x[start : start + batch_size])
        with tf.GradientTape(persistent=True) as tape:
            activations, pre_activations, logits = _forward(model, batch, names)
        probabilities = tf.nn.softmax(logits)
        n_classes = int(logits.shape[-1])
        for class_index in range(n_classes):
            one_hot = tf.one_hot(tf.fill([tf.shape(logits)[0]], class_index), n_classes)
            direction = tf.sqrt(probabilities[:, class_index : class_index + 1]) * (one_hot - probabilities)
            deltas = tape.gradient(
                logits, [pre_activations[name] for name in sums], output_gradients=tf.stop_gradient(direction)
            )
            for name, delta in zip(sums, deltas, strict=True):
                if delta is None:
                    continue
                if name in convolutions:
                    # a filter is shared by every pixel: sum the pixels' products per sample, then square
                    patches = _patches(convolutions[name], activations[name])
                    delta = tf.reshape(delta, [tf.shape(delta)[0], -1, delta.shape[-1]])
                    per_sample = tf.einsum("npk,npc->nkc", patches, delta)
                    squared = tf.reduce_sum(tf.square(per_sample), axis=0)
                    sums[name] += tf.reshape(squared, sums[name].shape).numpy()
                    continue
                squared_inputs = tf.square(activations[name])
                sums[name] += tf.matmul(squared_inputs, tf.square(delta), transpose_a=True).numpy()
        del tape
    return {name: (total / max(len(x), 1)).astype(np.float32) for name, total in sums.items()}
