"""Calorimeter clusters as images and depth profiles: the convolutional benchmark made here.

No public calorimeter-image set can be downloaded on the machines this toolkit targets, so a small,
seeded one is simulated from textbook shower shapes (PDG review "Passage of particles through
matter", sections on electromagnetic and hadronic cascades), the problem an HGCal-style L1 cluster
identifier solves: is a cluster a photon / electron, a neutral pion (two nearby photons), or a
charged hadron?

* transverse: an ``n x n`` grid of cells around the cluster seed; an electromagnetic shower keeps
  90 % of its energy within one Molière radius (``MOLIERE_CELLS`` cells); a hadronic one is wider,
  carries a non-compensated (30-90 %) visible fraction and satellite sub-clusters; the two photons
  of a pi0 are ``~2 m_pi0 / E`` apart in angle.
* longitudinal: the energy per layer (``length`` layers of one radiation length) follows the
  gamma-function profile ``dE/dt ~ t^(a-1) e^(-b t)`` with ``t_max = ln(E / E_c) - 0.5``; hadrons
  start at an exponentially distributed depth (interaction length ``LAMBDA_LAYERS``) and spread
  over many more layers.

Every cell gets a stochastic sampling fluctuation (``SAMPLING_TERM / sqrt(E_cell)``), electronic
noise and a zero-suppression threshold, plus low-energy pile-up deposits.

Example:
    >>> data = calorimeter_images(600, image_size=8, seed=1)
    >>> data.x_train.shape[1:], data.class_names
    ((8, 8, 1), ('photon', 'pi0', 'hadron'))
    >>> profiles = calorimeter_profiles(300, length=12, seed=1)
    >>> profiles.x_test.shape[1:], profiles.feature_names
    ((12, 2), ('energy', 'width'))
"""

from __future__ import annotations

import numpy as np

from .data import Dataset
from .errors import DataError

__all__ = ["CLUSTER_CLASSES", "calorimeter_images", "calorimeter_profiles"]

CLUSTER_CLASSES: tuple[str, ...] = ("photon", "pi0", "hadron")

MOLIERE_CELLS = 0.9  # Molière radius in trigger cells (HGCal: ~2.9 cm against ~3 cm trigger cells)
CRITICAL_ENERGY_GEV = 0.02  # E_c of a lead / tungsten absorber, sets the depth of the shower maximum
PI0_MASS_GEV = 0.135
PI0_SEPARATION_SCALE = 120.0  # trigger cells per radian: ~3 cm trigger cells 3.2 m from the interaction point (HGCal)
LAMBDA_LAYERS = 6.0  # hadronic interaction length in layers of one radiation length
SAMPLING_TERM = 0.25  # stochastic term, relative resolution per sqrt(GeV)
NOISE_GEV = 0.05
ZERO_SUPPRESSION_GEV = 0.1
PILEUP_DEPOSITS = 1.5  # mean number of pile-up deposits per cluster window
PILEUP_MEAN_GEV = 0.4
ENERGY_RANGE_GEV = (5.0, 100.0)
_TEST_FRACTION = 0.2
_VALIDATION_FRACTION = 0.1


def calorimeter_images(n_samples: int, *, image_size: int = 16, seed: int = 0) -> Dataset:
    """``n_samples`` clusters as ``(image_size, image_size, 1)`` energy images in GeV, three balanced classes.

    Raises:
        DataError: fewer than 10 samples or an image smaller than 4 cells.
    """
    _check_request(n_samples, image_size, "image_size")
    rng = np.random.default_rng(seed)
    labels = np.arange(n_samples) % len(CLUSTER_CLASSES)
    rng.shuffle(labels)
    energy = rng.uniform(*ENERGY_RANGE_GEV, size=n_samples)
    centre = (image_size - 1) / 2 + rng.uniform(-0.5, 0.5, size=(n_samples, 2))
    cells = np.arange(image_size, dtype=np.float64)
    images = np.zeros((n_samples, image_size, image_size))
    for index in range(n_samples):
        images[index] = _cluster_image(labels[index], energy[index], centre[index], cells, rng)
    images += _pileup(rng, images.shape)
    images = _measure(images, rng)
    return _split(images[..., np.newaxis].astype(np.float32), labels, ("energy",), seed)


def calorimeter_profiles(n_samples: int, *, length: int = 28, seed: int = 0) -> Dataset:
    """``n_samples`` clusters as ``(length, 2)`` depth profiles: energy per layer and its transverse width.

    Raises:
        DataError: fewer than 10 samples or fewer than 4 layers.
    """
    _check_request(n_samples, length, "length")
    rng = np.random.default_rng(seed)
    labels = np.arange(n_samples) % len(CLUSTER_CLASSES)
    rng.shuffle(labels)
    energy = rng.uniform(*ENERGY_RANGE_GEV, size=n_samples)
    depth = np.arange(length, dtype=np.float64) + 0.5
    energies = np.zeros((n_samples, length))
    widths = np.zeros((n_samples, length))
    for index in range(n_samples):
        energies[index], widths[index] = _depth_profile(labels[index], energy[index], depth, rng)
    energies = _measure(energies, rng)
    widths = np.where(energies > 0, widths * rng.normal(1.0, 0.1, size=widths.shape), 0.0)
    profiles = np.stack([energies, widths], axis=-1).astype(np.float32)
    return _split(profiles, labels, ("energy", "width"), seed)


def _cluster_image(label: int, energy: float, centre: np.ndarray, cells: np.ndarray, rng) -> np.ndarray:
    if label == 0:  # photon / electron: one compact electromagnetic shower
        return energy * _shower(centre, MOLIERE_CELLS, cells)
    if label == 1:  # pi0 -> two photons, opening angle ~ 2 m / E, energy sharing flat in z
        share = rng.uniform(0.15, 0.85)
        gap = PI0_SEPARATION_SCALE * 2 * PI0_MASS_GEV / (energy * np.sqrt(share * (1 - share)))
        direction = rng.uniform(0, 2 * np.pi)
        offset = 0.5 * gap * np.array([np.cos(direction), np.sin(direction)])
        return energy * (
            share * _shower(centre + offset, MOLIERE_CELLS, cells)
            + (1 - share) * _shower(centre - offset, MOLIERE_CELLS, cells)
        )
    visible = energy * rng.uniform(0.3, 0.9)  # non-compensation: part of a hadron's energy is invisible
    core_fraction = rng.uniform(0.4, 0.8)
    image = core_fraction * _shower(centre, rng.uniform(1.5, 2.5), cells)
    n_satellites = rng.integers(1, 4)
    for fraction in rng.dirichlet(np.ones(n_satellites)) * (1 - core_fraction):
        image += fraction * _shower(centre + rng.normal(0, 2.0, size=2), rng.uniform(0.6, 1.5), cells)
    return visible * image


def _shower(centre: np.ndarray, radius: float, cells: np.ndarray) -> np.ndarray:
    """Unit-energy transverse profile sampled at the cell centres (a core of width ``radius``)."""
    row = np.exp(-0.5 * ((cells - centre[0]) / radius) ** 2)
    column = np.exp(-0.5 * ((cells - centre[1]) / radius) ** 2)
    image = np.outer(row, column)
    total = image.sum()
    return image / total if total > 0 else image


def _depth_profile(label: int, energy: float, depth: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    t_max = max(np.log(energy / CRITICAL_ENERGY_GEV) - 0.5, 1.0)
    if label == 0:
        profile, start, width = _gamma_profile(depth, t_max, 0.5), 0.0, MOLIERE_CELLS
        return energy * profile, np.full_like(depth, width) * (1 + 0.05 * np.maximum(depth - start, 0))
    if label == 1:
        share = rng.uniform(0.15, 0.85)
        gap = PI0_SEPARATION_SCALE * 2 * PI0_MASS_GEV / (energy * np.sqrt(share * (1 - share)))
        profile = share * _gamma_profile(depth, t_max - np.log(1 / share), 0.5) + (1 - share) * _gamma_profile(
            depth, t_max - np.log(1 / (1 - share)), 0.5
        )
        return energy * profile, np.hypot(MOLIERE_CELLS, 0.5 * gap) * (1 + 0.05 * depth)
    start = rng.exponential(LAMBDA_LAYERS)
    shifted = np.maximum(depth - start, 0.0)
    profile = np.where(depth > start, _gamma_profile(shifted + 1e-3, 2.0 * t_max, 0.25), 0.0)
    total = profile.sum()
    profile = profile / total if total > 0 else profile
    visible = energy * rng.uniform(0.3, 0.9)
    return visible * profile, np.where(depth > start, rng.uniform(1.5, 2.5) * (1 + 0.08 * shifted), 0.0)


def _gamma_profile(depth: np.ndarray, t_max: float, b: float) -> np.ndarray:
    """Longitudinal shower profile (Longo's gamma function), normalized over the layers shown."""
    a = max(b * t_max + 1, 1.0)
    profile = depth ** (a - 1) * np.exp(-b * depth)
    total = profile.sum()
    return profile / total if total > 0 else profile


def _pileup(rng, shape: tuple[int, ...]) -> np.ndarray:
    deposits = np.zeros(shape)
    flat = deposits.reshape(shape[0], -1)
    counts = rng.poisson(PILEUP_DEPOSITS, size=shape[0])
    for index, count in enumerate(counts):
        cells = rng.integers(0, flat.shape[1], size=count)
        np.add.at(flat[index], cells, rng.exponential(PILEUP_MEAN_GEV, size=count))
    return deposits


def _measure(true_energy: np.ndarray, rng) -> np.ndarray:
    """Sampling fluctuation, electronic noise and zero suppression applied cell by cell."""
    relative = SAMPLING_TERM / np.sqrt(np.maximum(true_energy, 1e-6))
    measured = true_energy * (1 + relative * rng.standard_normal(true_energy.shape))
    measured = measured + NOISE_GEV * rng.standard_normal(true_energy.shape)
    return np.where(measured > ZERO_SUPPRESSION_GEV, measured, 0.0)


def _split(x: np.ndarray, labels: np.ndarray, channel_names: tuple[str, ...], seed: int) -> Dataset:
    """The fixed 20 % test split, then 10 % of the rest for validation (all drawn from ``seed``)."""
    rng = np.random.default_rng(seed + 1)
    order = rng.permutation(len(labels))
    n_test = int(round(_TEST_FRACTION * len(labels)))
    n_val = max(1, int(round(_VALIDATION_FRACTION * (len(labels) - n_test))))
    test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    y = labels.astype(np.int64)
    return Dataset(
        x_train=x[train],
        y_train=y[train],
        x_val=x[val],
        y_val=y[val],
        x_test=x[test],
        y_test=y[test],
        feature_names=channel_names,
        class_names=CLUSTER_CLASSES,
    )


def _check_request(n_samples: int, size: int, size_name: str) -> None:
    if n_samples < 10:
        raise DataError(f"n_samples={n_samples}: ask for at least 10 clusters (the test split takes 20 %).")
    if size < 4:
        raise DataError(f"{size_name}={size}: at least 4 cells are needed for a cluster to have a shape.")
