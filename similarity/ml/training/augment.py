"""Training-time augmentation: what a shopper's phone does to a product photo.

"phone" imitates shelf and handheld shots: a random crop down to about 0.3 of the area (the
product fills part of the frame), perspective (photographed at an angle), blur (shake, focus),
brightness/contrast/colour (shop lighting) and random erasing (price tags, fingers, other
products in front). "basic" is the lighter set (flip, zoom in by up to 30 %, shift,
brightness, contrast): the default, because it measured as well on shelf photos and better on
studio photos.
Both are Keras layers inside the training model, so they run batched where the model runs.
"""

import keras
from keras import layers

from ..options import AUGMENTATIONS

ERROR_UNKNOWN_AUGMENTATION = "unknown augmentation {name!r}; choose one of: {choices}"
WHITE = 255.0  # product photos are padded with white (preprocessing.BACKGROUND)
# Zooming in by up to 45 % on each side keeps 0.55² ≈ 0.3 of the area at the extreme.
CROP_ZOOM = (-0.45, 0.0)


def augmentation(seed: int, kind: str = "basic") -> keras.Sequential:
    """The named augmentation (one of AUGMENTATIONS): float images in [0, 255] in and out."""
    if kind == "phone":
        return keras.Sequential(_phone(seed), name="augmentation")
    if kind == "basic":
        return keras.Sequential(_basic(seed), name="augmentation")
    raise ValueError(ERROR_UNKNOWN_AUGMENTATION.format(name=kind, choices=", ".join(AUGMENTATIONS)))


def _phone(seed: int) -> list[layers.Layer]:
    return [
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomZoom(
            CROP_ZOOM, CROP_ZOOM, fill_mode="constant", fill_value=WHITE, seed=seed + 1
        ),
        layers.RandomTranslation(0.1, 0.1, fill_mode="constant", fill_value=WHITE, seed=seed + 2),
        layers.RandomPerspective(factor=0.5, scale=0.3, fill_value=WHITE, seed=seed + 3),
        layers.RandomGaussianBlur(
            factor=0.3, kernel_size=5, sigma=(0.1, 2.0), value_range=(0, 255), seed=seed + 4
        ),
        # Saturation first: it can leave [0, 255]; brightness and contrast clip back into it.
        layers.RandomSaturation((0.35, 0.65), value_range=(0, 255), seed=seed + 5),  # 0.5: as is
        layers.RandomBrightness(0.25, value_range=(0, 255), seed=seed + 6),
        layers.RandomContrast(0.3, value_range=(0, 255), seed=seed + 7),
        layers.RandomErasing(
            factor=0.25, scale=(0.02, 0.15), fill_value=127.5, value_range=(0, 255), seed=seed + 8
        ),
    ]


def _basic(seed: int) -> list[layers.Layer]:
    # A seed per layer: layers given one seed draw the same number per image, so the flip, zoom,
    # shift, brightness and contrast would move together (one random axis instead of five).
    return [
        layers.RandomFlip("horizontal", seed=seed),
        # Negative factors zoom in (Keras: a crop to 70-100 % of the frame), so the fill is unused.
        layers.RandomZoom((-0.3, 0.0), fill_mode="constant", fill_value=WHITE, seed=seed + 1),
        layers.RandomTranslation(0.1, 0.1, fill_mode="constant", fill_value=WHITE, seed=seed + 2),
        layers.RandomBrightness(0.15, value_range=(0, 255), seed=seed + 3),
        layers.RandomContrast(0.15, seed=seed + 4),
    ]
