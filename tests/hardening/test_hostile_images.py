"""Hostile and odd images, generated here with Pillow: each is refused with its reason or stored
as a clean re-encoded derivative; served derivatives carry the right type and nosniff."""

import io

import pytest
from django.conf import settings
from PIL import Image, ImageSequence
from PIL.PngImagePlugin import PngInfo

from catalog.images import InvalidImage, prepare_image
from tests.catalog.factories import image_bytes

LIMITS = {"max_bytes": 2_000_000, "max_pixels": 1_000_000}


def encode(image: Image.Image, fmt: str, **save_args) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save_args)
    return buffer.getvalue()


def decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def frames(fmt: str) -> bytes:
    red, green = Image.new("RGB", (12, 10), (255, 0, 0)), Image.new("RGB", (12, 10), (0, 255, 0))
    return encode(red, fmt, save_all=True, append_images=[green], duration=100, loop=0)


PNG = image_bytes(fmt="PNG", size=(40, 40))
JPEG = image_bytes(size=(40, 40))
# A 1-bit PNG of 30000 × 30000 pixels: under 200 kB on disk, 900 megapixels once decoded.
BOMB_PNG = encode(Image.new("1", (30_000, 30_000)), "PNG")
# Inside Pillow's hard limit but above prodsim's: refused from the header, before decoding.
WIDE_JPEG = encode(Image.new("L", (1200, 1000)), "JPEG")

REJECTED = [
    ("empty", b"", "the image file is empty"),
    ("random bytes", bytes(range(256)) * 8, "the file is not a readable image"),
    ("html", b"<!doctype html><script>alert(1)</script>", "the file is not a readable image"),
    ("svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "the file is not a"),
    ("pdf", b"%PDF-1.7\n1 0 obj<<>>endobj\n", "the file is not a readable image"),
    ("png header + html", PNG[:33] + b"<html><script>alert(1)</script></html>", "the file is not"),
    ("png signature only", PNG[:8], "the file is not a readable image"),
    ("jpeg header only", JPEG[:20], "the file is not a readable image"),
    # Refused formats are named by opening them with every plugin: PPM's raises ValueError.
    ("ppm header cut short", b"P6\n3 2\n", "the file is not a readable image"),
    ("truncated png", PNG[: len(PNG) // 2], "the image data is corrupt or truncated"),
    ("truncated jpeg", JPEG[: len(JPEG) // 2], "the image data is corrupt or truncated"),
    ("gif", frames("GIF"), "image format GIF is not accepted (use JPEG, PNG or WebP)"),
    ("bmp", image_bytes(fmt="BMP"), "image format BMP is not accepted (use JPEG, PNG or WebP)"),
    ("tiff", image_bytes(fmt="TIFF"), "image format TIFF is not accepted (use JPEG, PNG or WebP)"),
    ("ico", image_bytes(fmt="ICO"), "image format ICO is not accepted (use JPEG, PNG or WebP)"),
    (
        "decompression bomb",
        BOMB_PNG,
        "the image has 900000000 pixels, more than the limit of 1000000",
    ),
    ("too many pixels", WIDE_JPEG, "the image has 1200000 pixels, more than the limit of 1000000"),
    ("too many bytes", image_bytes(size=(900, 900)), "the image is larger than 2000 bytes"),
]


@pytest.mark.parametrize(("name", "data", "message"), REJECTED, ids=[case[0] for case in REJECTED])
def test_hostile_images_are_rejected_with_their_reason(name, data, message):
    limits = {**LIMITS, "max_bytes": 2000} if name == "too many bytes" else LIMITS
    with pytest.raises(InvalidImage) as excinfo:
        prepare_image(data, **limits)
    assert str(excinfo.value).startswith(message)


def test_the_bomb_is_small_on_disk():
    assert len(BOMB_PNG) < 200_000  # the point of the case: the bytes cap cannot catch it


def test_pillow_pixel_limit_is_set_explicitly_from_settings():
    assert Image.MAX_IMAGE_PIXELS == settings.PRODSIM_MAX_IMAGE_PIXELS == 40_000_000


def p_with_transparency() -> bytes:
    image = Image.new("P", (10, 10), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    return encode(image, "PNG", transparency=1)


def i16_ramp() -> bytes:
    ramp = Image.new("I;16", (256, 1))
    ramp.putdata([value * 257 for value in range(256)])
    return encode(ramp, "PNG")


ACCEPTED = [
    ("rgb jpeg", JPEG, "jpg", "RGB"),
    ("cmyk jpeg", encode(Image.new("CMYK", (10, 10), (0, 255, 255, 0)), "JPEG"), "jpg", "RGB"),
    ("grey png", image_bytes(128, mode="L", fmt="PNG"), "jpg", "RGB"),
    ("1-bit png", image_bytes(1, mode="1", fmt="PNG"), "jpg", "RGB"),
    ("P with transparency", p_with_transparency(), "png", "RGBA"),
    ("LA png", image_bytes((80, 100), mode="LA", fmt="PNG"), "png", "RGBA"),
    ("RGBA png", image_bytes((255, 0, 0, 128), mode="RGBA", fmt="PNG"), "png", "RGBA"),
    ("I;16 ramp", i16_ramp(), "jpg", "RGB"),
    ("webp", image_bytes(fmt="WEBP"), "jpg", "RGB"),
    ("animated png", frames("PNG"), "jpg", "RGB"),
    ("animated webp", frames("WEBP"), "jpg", "RGB"),
]


@pytest.mark.parametrize(
    ("name", "data", "extension", "mode"), ACCEPTED, ids=[case[0] for case in ACCEPTED]
)
def test_every_mode_becomes_a_single_frame_rgb_or_rgba_derivative(name, data, extension, mode):
    prepared = prepare_image(data, **LIMITS)
    image = decoded(prepared.content)
    assert (prepared.extension, image.mode, image.format) == (
        extension,
        mode,
        "PNG" if extension == "png" else "JPEG",
    )
    assert len(list(ImageSequence.Iterator(image))) == 1


def test_animations_keep_their_first_frame():
    image = decoded(prepare_image(frames("PNG"), **LIMITS).content).convert("RGB")
    red, green, blue = image.getpixel((5, 5))
    assert red > 200 and green < 50 and blue < 50


def test_i16_ramp_keeps_its_gradient():
    image = decoded(prepare_image(i16_ramp(), **LIMITS).content).convert("L")
    values = [image.getpixel((x, 0)) for x in range(0, 256, 51)]
    assert values == sorted(values) and values[0] < 10 and values[-1] > 245


def test_gps_and_camera_metadata_are_stripped_and_orientation_applied():
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # GPS IFD: latitude
    prepared = prepare_image(image_bytes(size=(40, 30), exif=exif), **LIMITS)
    image = decoded(prepared.content)
    assert (image.width, image.height) == (30, 40)
    assert dict(image.getexif()) == {}
    assert b"SecretCam" not in prepared.content
    assert "exif" not in image.info and "icc_profile" not in image.info


@pytest.mark.django_db
def test_served_derivatives_have_their_type_and_nosniff_and_are_not_the_original(client):
    from catalog.importers import ProductRow
    from catalog.models import Product
    from catalog.services import product_upsert
    from catalog.services.products import ImageToAttach

    original = image_bytes(size=(40, 30), fmt="PNG")
    comment = PngInfo()
    comment.add_text("Comment", "taken by the shop's photographer")  # metadata: not stored
    transparent = image_bytes((255, 0, 0, 128), mode="RGBA", fmt="PNG", pnginfo=comment)
    row = ProductRow(line=0, sku="S-1", title="Mug", price=1, currency="EUR")
    images = [ImageToAttach(prepare_image(data, **LIMITS), "x") for data in (original, transparent)]
    product_upsert(row=row, images=images, notify=False)
    served = []
    for image in Product.objects.get(sku="S-1").images.order_by("position"):
        response = client.get(image.file.url)
        served.append(
            (response.status_code, response["Content-Type"], response["X-Content-Type-Options"])
        )
        body = b"".join(response.streaming_content)
        assert body != original and body != transparent  # the derivative, never the upload
    assert served == [(200, "image/jpeg", "nosniff"), (200, "image/png", "nosniff")]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/media/products/../imports/catalogue.csv", 400),  # SuspiciousFileOperation
        ("/media/products/%2e%2e/imports/catalogue.csv", 400),
        ("/media/products/..%2fimports%2fcatalogue.csv", 400),
        ("/media/imports/catalogue.csv", 404),  # uploads live outside the served folder
    ],
)
@pytest.mark.django_db
def test_media_route_serves_only_derivatives(client, media_root, path, status):
    (media_root / "imports").mkdir()
    (media_root / "imports" / "catalogue.csv").write_text("sku,title,price\n")
    client.raise_request_exception = False
    assert client.get(path).status_code == status


def test_a_photo_with_transparency_is_never_stored_with_zlib_s_slowest_compression(monkeypatch):
    """Pillow's `optimize` on a PNG (zlib's best compression) spent a minute on a 9-megapixel
    upload of noisy pixels (the storefront's photo search answers anyone): a web worker's time
    limit. Stored copies take the default level; a searched photo, never stored, the quickest."""
    from similarity.services import visual

    photo = image_bytes(color=(200, 30, 30, 128), fmt="PNG", size=(40, 40), mode="RGBA")
    saved = []
    save = Image.Image.save

    def recorded(self, fp, format=None, **params):
        saved.append((format, params))
        return save(self, fp, format=format, **params)

    monkeypatch.setattr(Image.Image, "save", recorded)

    prepare_image(photo, **LIMITS)
    with pytest.raises(visual.VisualSearchUnavailable):
        visual.image_query_vector(data=photo, version=None)

    assert saved == [("PNG", {"compress_level": 6}), ("PNG", {"compress_level": 1})]
