"""Image features: the shipped EfficientNet-Lite0 weights, real images, one vector per OCR box."""

from __future__ import annotations

from pathlib import Path

import matplotlib.cbook
import pytest
import torch
from PIL import Image, ImageDraw

from engine.errors import ModelError
from engine.vision import features as image_features
from engine.vision.features import FEATURE_DIM, ImageEncoder

MILITARY_UNIFORM = 652  # ImageNet class of the Grace Hopper portrait


def test_imagenet_weights_and_preprocessing_are_right(image_encoder):
    """A real photo (shipped with matplotlib) is classified as ImageNet says it should be."""
    photo = Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    logits = image_encoder.classify(photo.convert("RGB").resize((224, 224)))
    assert MILITARY_UNIFORM in logits.topk(3).indices.tolist()


def test_one_vector_per_box_on_a_real_screenshot(image_encoder, shared_data: Path):
    shot = Image.open(shared_data / "screenshots/abcd_ui/agent_dashboard.png")
    boxes = [(0.0, 0.0, 0.5, 0.1), (0.1, 0.4, 0.9, 0.45), (0.6, 0.8, 0.95, 0.95)]
    features = image_encoder.features(shot, boxes)
    assert features.global_vector.shape == (FEATURE_DIM,)
    assert features.box_vectors.shape == (3, FEATURE_DIM)
    assert torch.isfinite(features.box_vectors).all()
    assert not torch.allclose(features.box_vectors[0], features.box_vectors[2], atol=1e-3)
    assert image_encoder.features(shot, []).box_vectors.shape == (0, FEATURE_DIM)


def test_box_vectors_see_what_is_in_the_box(image_encoder):
    """A red banner's box differs from a plain white box, and does not depend on the rest."""
    plain = Image.new("RGB", (800, 500), "white")
    banner = plain.copy()
    ImageDraw.Draw(banner).rectangle((0, 0, 800, 100), fill=(200, 30, 30))
    also = banner.copy()
    ImageDraw.Draw(also).ellipse((660, 360, 790, 490), fill=(20, 120, 20))
    top, bottom_left = (0.0, 0.0, 1.0, 0.2), (0.0, 0.6, 0.4, 1.0)
    plain_f, banner_f, also_f = image_encoder.features_batch(
        [plain, banner, also], [[top, bottom_left]] * 3
    )
    red_vs_white = (banner_f.box_vectors[0] - plain_f.box_vectors[0]).norm()
    same_corner = (banner_f.box_vectors[1] - also_f.box_vectors[1]).norm()
    assert red_vs_white > 2 * same_corner


def test_batch_equals_one_by_one(image_encoder, shared_data: Path):
    images = [
        Image.open(shared_data / "screenshots/abcd_ui/faq_screenshot.png"),
        Image.open(shared_data / "screenshots/pytesseract/test.png"),
    ]
    boxes = [[(0.1, 0.1, 0.6, 0.2)], [(0.05, 0.17, 0.9, 0.26), (0.05, 0.3, 0.9, 0.4)]]
    batched = image_encoder.features_batch(images, boxes)
    for image, image_boxes, together in zip(images, boxes, batched, strict=True):
        alone = image_encoder.features(image, image_boxes)
        # zero padding reaches the edge cells through the convolutions: close, not equal
        assert torch.nn.functional.cosine_similarity(
            alone.box_vectors, together.box_vectors
        ).min() > 0.9


def test_weights_that_are_not_the_shipped_file_are_refused(tmp_path: Path, monkeypatch):
    forged = tmp_path / "efficientnet-lite0.pth"
    forged.write_bytes(b"not the real checkpoint")
    monkeypatch.setattr(image_features, "weights_path", lambda: forged)
    with pytest.raises(ModelError, match="not the expected file"):
        ImageEncoder.load(device="cpu")
