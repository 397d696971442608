"""Sparse variational dropout layers: a Gaussian per weight whose noise decides if the weight is needed.

Every weight ``w`` has a posterior ``N(theta, sigma^2)`` with two trainable values, ``theta`` and
``log sigma^2`` (the *additive* parameterization of Molchanov et al. 2017: the noise variance is
its own parameter, so its gradient does not explode as ``alpha = sigma^2 / theta^2`` grows).

* Training uses the **local reparameterization trick**: instead of sampling a weight matrix per
  batch, the pre-activations are sampled, ``b ~ N(x theta + bias, x^2 sigma^2)``, one independent
  draw per example (lower-variance gradients, one matmul more).
* Inference is **deterministic**: the mean weights ``theta`` with every weight whose
  ``log alpha = log sigma^2 - log theta^2`` is at or above ``threshold`` set to exactly zero. That
  is what the exported plain Keras model computes.
* Each layer adds ``kl_weight * KL / n_train_samples`` to the model's loss (see :mod:`.kl`), so
  Keras minimizes the negative variational lower bound per training example.

:class:`VariationalDense` replaces ``Dense``; :class:`VariationalFeatureGate` multiplies each input
feature by one variational weight, so its ``log alpha`` measures how much the network needs that
feature (a large value: irrelevant, removed).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .kl import LOG_ALPHA_CLIP, kl_divergence

__all__ = ["VariationalDense", "VariationalFeatureGate", "variational_layers", "DEFAULT_THRESHOLD"]

DEFAULT_THRESHOLD = 3.0  # log alpha = 3: alpha ~ 20, the weight's noise is ~4.5x its mean (Molchanov et al.)
_EPSILON = 1e-8


class _VariationalBase(tf.keras.layers.Layer):
    """What both layers share: log alpha, its mask, the KL term and the (warm-up) KL weight."""

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        n_train_samples: int = 1,
        log_sigma2_initial: float = -10.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.initial_threshold = float(threshold)
        self.n_train_samples = int(n_train_samples)
        self.log_sigma2_initial = float(log_sigma2_initial)

    def _add_variational_weights(self, shape) -> None:
        self.log_sigma2 = self.add_weight(
            name="log_sigma2",
            shape=shape,
            initializer=tf.keras.initializers.Constant(self.log_sigma2_initial),
            trainable=True,
        )
        # Non-trainable state is saved with the model: the warm-up position and the threshold.
        self.kl_weight = self.add_weight(name="kl_weight", shape=(), initializer="ones", trainable=False)
        self.threshold_variable = self.add_weight(
            name="threshold",
            shape=(),
            initializer=tf.keras.initializers.Constant(self.initial_threshold),
            trainable=False,
        )

    @property
    def threshold(self) -> float:
        return float(self.threshold_variable.numpy()) if self.built else self.initial_threshold

    def set_threshold(self, value: float) -> None:
        """Change the log alpha cut of the deterministic (inference) output; no retracing needed."""
        self.threshold_variable.assign(np.float32(value))

    def log_alpha_tensor(self):
        log_alpha = self.log_sigma2 - tf.math.log(tf.square(self.theta) + _EPSILON)
        return tf.clip_by_value(log_alpha, -LOG_ALPHA_CLIP, LOG_ALPHA_CLIP)

    def log_alpha(self) -> np.ndarray:
        """``log sigma^2 - log theta^2`` per weight, clipped to [-10, 10] as in the KL approximation."""
        return np.asarray(self.log_alpha_tensor().numpy())

    def keep_mask_tensor(self):
        return tf.cast(self.log_alpha_tensor() < self.threshold_variable, self.theta.dtype)

    def keep_mask(self) -> np.ndarray:
        """``True`` where the weight survives the threshold."""
        return np.asarray(self.log_alpha() < self.threshold)

    def _add_kl_loss(self) -> None:
        self.add_loss(self.kl_weight * kl_divergence(self.log_alpha_tensor()) / float(self.n_train_samples))

    def get_config(self):
        config = super().get_config()
        config.update(
            threshold=self.threshold,
            n_train_samples=self.n_train_samples,
            log_sigma2_initial=self.log_sigma2_initial,
        )
        return config


@tf.keras.utils.register_keras_serializable(package="fpgacompress")
class VariationalDense(_VariationalBase):
    """A Dense layer with sparse variational dropout on every kernel weight (the bias stays a point value).

    Args:
        units: output width.
        activation: as in ``Dense`` (``build_mlp`` models keep it separate, ``None``).
        use_bias: as in ``Dense``.
        threshold: log alpha at or above which a weight is zero at inference.
        n_train_samples: training-set size ``N``; the KL term is divided by it.
        log_sigma2_initial: starting ``log sigma^2`` of every weight (small: start near the point estimate).
    """

    def __init__(
        self,
        units: int,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = tf.keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = tf.keras.initializers.get(kernel_initializer)
        self.bias_initializer = tf.keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        n_inputs = int(input_shape[-1])
        self.theta = self.add_weight(
            name="theta", shape=(n_inputs, self.units), initializer=self.kernel_initializer, trainable=True
        )
        self._add_variational_weights((n_inputs, self.units))
        self.bias = (
            self.add_weight(
                name="bias", shape=(self.units,), initializer=self.bias_initializer, trainable=True
            )
            if self.use_bias
            else None
        )
        super().build(input_shape)

    def call(self, inputs, training=None):
        self._add_kl_loss()
        if training:
            mean = tf.matmul(inputs, self.theta)
            variance = tf.matmul(tf.square(inputs), tf.exp(self.log_sigma2))
            outputs = mean + tf.sqrt(variance + _EPSILON) * tf.random.normal(tf.shape(mean))
        else:
            # The same ops, in the same order, as Dense: the exported model matches bit for bit.
            outputs = tf.matmul(inputs, self.theta * self.keep_mask_tensor())
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, self.bias)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)[:-1].concatenate([self.units])

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            activation=tf.keras.activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=tf.keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=tf.keras.initializers.serialize(self.bias_initializer),
        )
        return config


@tf.keras.utils.register_keras_serializable(package="fpgacompress")
class VariationalFeatureGate(_VariationalBase):
    """One variational weight per input feature, starting at 1: ``log alpha`` ranks the features.

    Placed right after the input. A feature whose gate ends with ``log alpha >= threshold`` is
    irrelevant: its gate is zero at inference and the exporter removes it (folds the gates into
    the next Dense layer's kernel rows).
    """

    def build(self, input_shape):
        width = int(input_shape[-1])
        self.theta = self.add_weight(name="theta", shape=(width,), initializer="ones", trainable=True)
        self._add_variational_weights((width,))
        super().build(input_shape)

    def call(self, inputs, training=None):
        self._add_kl_loss()
        if training:
            mean = inputs * self.theta
            variance = tf.square(inputs) * tf.exp(self.log_sigma2)
            return mean + tf.sqrt(variance + _EPSILON) * tf.random.normal(tf.shape(mean))
        return inputs * (self.theta * self.keep_mask_tensor())

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)


def variational_layers(model) -> list:
    """The model's variational layers (gate and dense), in model order."""
    return [layer for layer in model.layers if isinstance(layer, _VariationalBase)]
