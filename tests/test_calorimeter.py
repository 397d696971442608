"""The simulated calorimeter clusters: reproducible, balanced, and shaped like the showers they model."""

import numpy as np
import pytest

from fpgacompress.calorimeter import CLUSTER_CLASSES, calorimeter_images, calorimeter_profiles
from fpgacompress.errors import DataError


def _radius(images: np.ndarray) -> np.ndarray:
    """Energy-weighted transverse RMS radius of each image, in cells."""
    energy = images[..., 0]
    size = energy.shape[1]
    rows, columns = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    total = energy.sum(axis=(1, 2))
    row_mean = (energy * rows).sum(axis=(1, 2)) / total
    column_mean = (energy * columns).sum(axis=(1, 2)) / total
    spread = energy * ((rows - row_mean[:, None, None]) ** 2 + (columns - column_mean[:, None, None]) ** 2)
    return np.sqrt(spread.sum(axis=(1, 2)) / total)


def test_images_are_seeded_balanced_and_split_without_overlap():
    first, second = calorimeter_images(300, image_size=8, seed=3), calorimeter_images(300, image_size=8, seed=3)
    np.testing.assert_array_equal(first.x_train, second.x_train)
    assert not np.array_equal(first.x_train, calorimeter_images(300, image_size=8, seed=4).x_train)
    labels = np.concatenate([first.y_train, first.y_val, first.y_test])
    assert len(labels) == 300 and np.bincount(labels).tolist() == [100, 100, 100]
    assert first.x_test.shape == (60, 8, 8, 1) and first.class_names == CLUSTER_CLASSES
    assert (first.x_train >= 0).all()  # zero-suppressed energies


def test_photon_showers_are_narrower_than_hadron_showers():
    data = calorimeter_images(1500, image_size=12, seed=0)
    radius = _radius(data.x_train)
    photon, hadron = radius[data.y_train == 0], radius[data.y_train == 2]
    assert np.median(photon) < 0.8 * np.median(hadron)


def test_hadron_profiles_start_deeper_than_photon_profiles():
    data = calorimeter_profiles(1500, length=20, seed=0)
    energy = data.x_train[..., 0]
    seen = energy.sum(axis=1) > 0  # a hadron may start its shower behind the last layer
    depth = (energy * np.arange(20)).sum(axis=1)[seen] / energy.sum(axis=1)[seen]
    labels = data.y_train[seen]
    assert np.median(depth[labels == 2]) > np.median(depth[labels == 0]) + 1.0
    assert data.feature_names == ("energy", "width")


@pytest.mark.parametrize("call", [lambda: calorimeter_images(5), lambda: calorimeter_profiles(100, length=2)])
def test_too_small_a_request_is_refused(call):
    with pytest.raises(DataError, match="at least"):
        call()
