import io

import pytest
from PIL import Image

from catalog.images import InvalidImage, prepare_image

from .factories import image_bytes

LIMITS = {"max_bytes": 1_000_000, "max_pixels": 1_000_000}


def decoded(prepared) -> Image.Image:
    return Image.open(io.BytesIO(prepared.content))


def test_jpeg_is_reencoded_without_metadata():
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    prepared = prepare_image(image_bytes(size=(40, 30), exif=exif), **LIMITS)
    image = decoded(prepared)
    assert (prepared.extension, prepared.width, prepared.height) == ("jpg", 40, 30)
    assert (image.format, image.mode, dict(image.getexif())) == ("JPEG", "RGB", {})


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    prepared = prepare_image(image_bytes(size=(40, 30), exif=exif), **LIMITS)
    assert (prepared.width, prepared.height) == (30, 40)


@pytest.mark.parametrize(("mode", "color"), [("RGBA", (255, 0, 0, 128)), ("LA", (80, 100))])
def test_transparency_is_kept_as_png(mode, color):
    prepared = prepare_image(image_bytes(color, mode=mode, fmt="PNG"), **LIMITS)
    assert (prepared.extension, decoded(prepared).mode) == ("png", "RGBA")


@pytest.mark.parametrize(("mode", "color"), [("L", 128), ("P", 3), ("I;16", 40000), ("1", 1)])
def test_other_modes_become_rgb(mode, color):
    prepared = prepare_image(image_bytes(color, mode=mode, fmt="PNG"), **LIMITS)
    assert decoded(prepared).mode == "RGB"


def test_sha256_is_of_the_original_bytes():
    import hashlib

    data = image_bytes()
    assert prepare_image(data, **LIMITS).sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("data", "limits", "message"),
    [
        (b"", LIMITS, "the image file is empty"),
        (b"\x89PNG\r\n\x1a\n<html>hi</html>", LIMITS, "the file is not a readable image"),
        (b"random bytes that are no image", LIMITS, "the file is not a readable image"),
        (
            image_bytes(fmt="GIF", mode="P", color=1),
            LIMITS,
            "image format GIF is not accepted (use JPEG, PNG or WebP)",
        ),
        (
            image_bytes(fmt="BMP"),
            LIMITS,
            "image format BMP is not accepted (use JPEG, PNG or WebP)",
        ),
        (
            image_bytes(size=(2000, 1000)),
            LIMITS,
            "the image has 2000000 pixels, more than the limit of 1000000",
        ),
        (
            image_bytes(size=(100, 100)),
            {"max_bytes": 50, "max_pixels": 10**6},
            "the image is larger than 50 bytes",
        ),
    ],
)
def test_unacceptable_images_are_rejected_with_a_reason(data, limits, message):
    with pytest.raises(InvalidImage) as excinfo:
        prepare_image(data, **limits)
    assert str(excinfo.value).startswith(message)
