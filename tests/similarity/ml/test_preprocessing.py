"""Golden tests for the one preprocessing path: exact pixels for every step of `load_image`."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from similarity.ml.preprocessing import (
    CORRUPT_IMAGE_MESSAGE,
    EMPTY_IMAGE_MESSAGE,
    TOO_MANY_PIXELS_MESSAGE,
    UNRECOGNISED_IMAGE_MESSAGE,
    ImageDecodeError,
    load_batch,
    load_image,
)
from similarity.ml.preprocessing.decoding import decode

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
# Six distinct corner colours for the orientation tests, keyed by the letter used in the grids.
COLOURS = {
    "A": RED,
    "B": GREEN,
    "C": BLUE,
    "D": (255, 255, 0),
    "E": (255, 0, 255),
    "F": (0, 255, 255),
    "W": WHITE,
}


def encode(image: Image.Image, image_format: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def solid(colour, size=(4, 4)) -> Image.Image:
    return Image.new("RGB", size, colour)


def pixels(rows) -> np.ndarray:
    """Nested lists of RGB tuples -> (h, w, 3) uint8."""
    return np.array(rows, dtype=np.uint8)


def grid(*rows: str) -> np.ndarray:
    """("AB", "CW") -> the (2, 2, 3) array of those COLOURS."""
    return pixels([[COLOURS[letter] for letter in row] for row in rows])


# --- resize geometry -------------------------------------------------------------------------


def test_pad_scales_the_longer_side_and_centres_on_white():
    data = encode(solid(RED, (20, 10)))

    result = load_image(data, size=16)

    # 20x10 -> 16x8, then 4 white rows above and below. A uniform area stays exact under LANCZOS.
    expected = np.full((16, 16, 3), 255, dtype=np.uint8)
    expected[4:12] = RED
    np.testing.assert_array_equal(result, expected)


def test_pad_of_a_tall_image_adds_white_columns():
    data = encode(solid(RED, (10, 20)))

    result = load_image(data, size=16)

    expected = np.full((16, 16, 3), 255, dtype=np.uint8)
    expected[:, 4:12] = RED
    np.testing.assert_array_equal(result, expected)


def test_crop_keeps_the_centre_of_the_shorter_side_scale():
    # 60x20 -> 30x10 -> columns 10..19 kept, i.e. source columns 20..39: far enough from the blue
    # and green bands (cols 0..7 and 52..59) that LANCZOS' 6-pixel reach sees only red.
    image = solid(RED, (60, 20))
    image.paste(BLUE, (0, 0, 8, 20))
    image.paste(GREEN, (52, 0, 60, 20))

    result = load_image(encode(image), size=10, mode="crop")

    np.testing.assert_array_equal(result, np.full((10, 10, 3), RED, dtype=np.uint8))


def test_crop_without_resize_cuts_equal_margins():
    image = solid(RED, (14, 10))
    image.paste(BLUE, (0, 0, 2, 10))
    image.paste(GREEN, (12, 0, 14, 10))

    result = load_image(encode(image), size=10, mode="crop")

    np.testing.assert_array_equal(result, np.full((10, 10, 3), RED, dtype=np.uint8))


@pytest.mark.parametrize("mode", ["pad", "crop"])
@pytest.mark.parametrize("source_size", [(37, 23), (23, 37), (5, 5), (300, 7)])
def test_output_is_a_square_contiguous_writable_uint8_array(mode, source_size):
    result = load_image(encode(solid(RED, source_size)), size=12, mode=mode)

    assert (result.shape, result.dtype) == ((12, 12, 3), np.uint8)
    assert result.flags.c_contiguous and result.flags.writeable


# --- EXIF orientation ------------------------------------------------------------------------

# The stored 3x2 image is ("ABC", "DEF"); each grid is what a viewer shows for that Orientation
# tag, written out by hand from the EXIF spec, then padded to 3x3 (the white row/column "W" goes
# bottom/right because an odd remainder goes there).
ORIENTED = {
    1: ("ABC", "DEF", "WWW"),
    2: ("CBA", "FED", "WWW"),  # mirrored horizontally
    3: ("FED", "CBA", "WWW"),  # rotated 180
    4: ("DEF", "ABC", "WWW"),  # mirrored vertically
    5: ("ADW", "BEW", "CFW"),  # transposed (mirror along the main diagonal)
    6: ("DAW", "EBW", "FCW"),  # rotated 90 clockwise
    7: ("FCW", "EBW", "DAW"),  # transversed (mirror along the anti-diagonal)
    8: ("CFW", "BEW", "ADW"),  # rotated 90 counter-clockwise
}


def corner_image() -> Image.Image:
    image = Image.new("RGB", (3, 2))
    image.putdata([COLOURS[letter] for letter in "ABCDEF"])
    return image


@pytest.mark.parametrize("orientation", sorted(ORIENTED))
def test_exif_orientation_is_applied(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(corner_image(), "PNG", exif=exif)  # PNG: lossless, so the pixels are exact

    result = load_image(data, size=3)

    np.testing.assert_array_equal(result, grid(*ORIENTED[orientation]))


def test_exif_orientation_of_a_jpeg_is_applied():
    image = solid(RED, (64, 32))
    image.paste(BLUE, (32, 0, 64, 32))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(image, "JPEG", quality=100, subsampling=0, exif=exif)

    result = load_image(data, size=64).astype(int)

    # Rotated clockwise: red on top, blue below, 16 white columns each side. JPEG is lossy, so
    # only the centre of each block is compared, within 2 levels (measured: 0-1).
    np.testing.assert_array_equal(result[:, :16], 255)
    np.testing.assert_array_equal(result[:, 48:], 255)
    np.testing.assert_allclose(result[8:24, 24:40], np.full((16, 16, 3), RED), atol=2)
    np.testing.assert_allclose(result[40:56, 24:40], np.full((16, 16, 3), BLUE), atol=2)


# --- animation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_format", "params"),
    [("GIF", {}), ("WEBP", {"lossless": True}), ("PNG", {})],  # PNG with save_all = APNG
    ids=["gif", "webp", "apng"],
)
def test_animated_image_yields_its_first_frame(image_format, params):
    frames = [solid(RED), solid(BLUE), solid(GREEN)]
    data = encode(frames[0], image_format, save_all=True, append_images=frames[1:], **params)
    assert Image.open(io.BytesIO(data)).n_frames == 3

    result = load_image(data, size=4)

    np.testing.assert_array_equal(result, np.full((4, 4, 3), RED, dtype=np.uint8))


# --- colour modes ----------------------------------------------------------------------------


def image_of(mode: str, values, palette=None, **info) -> Image.Image:
    """A 2x2 image of `mode` with the four `values` in reading order."""
    if mode in ("I", "F") or mode.startswith("I;16"):
        dtype = {"I": np.int32, "F": np.float32, "I;16": np.uint16, "I;16B": ">u2"}[mode]
        image = Image.fromarray(np.array(values, dtype=dtype).reshape(2, 2))
        assert image.mode == mode
        return image
    image = Image.new(mode, (2, 2))
    if palette is not None:
        image.putpalette([channel for colour in palette for channel in colour])
    image.putdata(values)
    image.info.update(info)
    return image


PALETTE = [RED, GREEN, BLUE, WHITE]
HALF_BLUE = (127, 127, 255)  # blue at alpha 128 over white: 255 * 127 / 255 rounded = 127

# (id, image, file format, expected 2x2 pixels in reading order)
MODE_CASES = [
    ("1", image_of("1", [0, 255, 255, 0]), "PNG", [BLACK, WHITE, WHITE, BLACK]),
    ("L", image_of("L", [0, 64, 128, 255]), "PNG", [BLACK, (64,) * 3, (128,) * 3, WHITE]),
    ("P", image_of("P", [0, 1, 2, 3], PALETTE), "PNG", [RED, GREEN, BLUE, WHITE]),
    (
        "P-transparent",
        image_of("P", [0, 1, 2, 3], PALETTE, transparency=1),
        "PNG",
        [RED, WHITE, BLUE, WHITE],
    ),
    (
        "P-transparent-gif",
        image_of("P", [0, 1, 2, 3], PALETTE, transparency=0),
        "GIF",
        [WHITE, GREEN, BLUE, WHITE],
    ),
    (
        "PA",
        image_of("PA", [(0, 255), (1, 0), (2, 128), (3, 255)], PALETTE),
        "TIFF",
        [RED, WHITE, HALF_BLUE, WHITE],
    ),
    (
        "LA",
        image_of("LA", [(0, 255), (0, 0), (0, 128), (200, 255)]),
        "PNG",
        [BLACK, WHITE, (127,) * 3, (200,) * 3],
    ),
    (
        "RGBA",
        image_of("RGBA", [(*RED, 255), (*RED, 0), (*BLUE, 128), (*BLUE, 64)]),
        "PNG",
        [RED, WHITE, HALF_BLUE, (191, 191, 255)],
    ),
    ("RGB", image_of("RGB", [RED, GREEN, BLUE, (1, 2, 3)]), "PNG", [RED, GREEN, BLUE, (1, 2, 3)]),
    (
        "RGB-transparent",  # a PNG tRNS colour key on a truecolour image
        image_of("RGB", [RED, GREEN, BLUE, BLACK], transparency=GREEN),
        "PNG",
        [RED, WHITE, BLUE, BLACK],
    ),
    (
        "CMYK",  # Pillow's formula: R = (255 - C) * (255 - K) / 255
        image_of("CMYK", [(0, 0, 0, 0), (255, 0, 0, 0), (0, 0, 0, 255), (100, 50, 25, 64)]),
        "TIFF",
        [WHITE, (0, 255, 255), BLACK, (116, 154, 172)],
    ),
    (
        "I;16",  # >> 8: 0x1234 -> 0x12
        image_of("I;16", [0, 0x1234, 0x8000, 0xFFFF]),
        "PNG",
        [BLACK, (0x12,) * 3, (128,) * 3, WHITE],
    ),
    (
        "I;16-tiff",
        image_of("I;16", [0, 0x1234, 0x8000, 0xFFFF]),
        "TIFF",
        [BLACK, (0x12,) * 3, (128,) * 3, WHITE],
    ),
    (
        "I;16B",
        image_of("I;16B", [0, 0x1234, 0x8000, 0xFFFF]),
        "TIFF",
        [BLACK, (0x12,) * 3, (128,) * 3, WHITE],
    ),
    (
        "I-8bit",  # max <= 255: values taken as they are
        image_of("I", [0, 7, 200, 255]),
        "TIFF",
        [BLACK, (7,) * 3, (200,) * 3, WHITE],
    ),
    (
        "I-16bit",  # max <= 65535: >> 8
        image_of("I", [0, 256, 0x8000, 0xFFFF]),
        "TIFF",
        [BLACK, (1,) * 3, (128,) * 3, WHITE],
    ),
    (
        "I-32bit",  # larger: v * 255 // max; negatives -> 0
        image_of("I", [-5, 0, 50_000, 100_000]),
        "TIFF",
        [BLACK, BLACK, (127,) * 3, WHITE],
    ),
    (
        "F-unit",  # max <= 1: x 255, rounded half up; NaN -> 0
        image_of("F", [0.0, 0.5, 1.0, float("nan")]),
        "TIFF",
        [BLACK, (128,) * 3, WHITE, BLACK],
    ),
    (
        "F-bytes",  # max > 1: clipped to 0..255, rounded half up
        image_of("F", [-2.0, 100.4, 254.5, 300.0]),
        "TIFF",
        [BLACK, (100,) * 3, WHITE, WHITE],
    ),
]


@pytest.mark.parametrize(
    ("image", "image_format", "expected"),
    [case[1:] for case in MODE_CASES],
    ids=[case[0] for case in MODE_CASES],
)
def test_every_mode_becomes_rgb_uint8(image, image_format, expected):
    data = encode(image, image_format)
    assert Image.open(io.BytesIO(data)).mode == image.mode  # the file really stores that mode

    result = load_image(data, size=2)

    np.testing.assert_array_equal(result, pixels(expected).reshape(2, 2, 3))


@pytest.mark.parametrize("image_format", ["PNG", "TIFF"])
def test_16bit_ramp_is_scaled_not_clipped(image_format):
    ramp = np.arange(0, 65536, 257, dtype=np.uint16).reshape(16, 16)  # 0, 257, ..., 65535
    data = encode(Image.fromarray(ramp), image_format)

    result = load_image(data, size=16)

    # k * 257 >> 8 == k, so the 256 steps map onto 0..255 one to one (Pillow's convert("L")
    # would turn everything >= 256 into 255).
    expected = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(result, np.repeat(expected[..., np.newaxis], 3, axis=2))


def test_alpha_is_composited_on_white():
    image = Image.new("RGBA", (2, 1))
    image.putdata([(255, 0, 0, 128), (0, 0, 0, 0)])  # half-transparent red, invisible black

    result = load_image(encode(image), size=2)

    # Our own integer arithmetic, so exact: 255 * 127 / 255 -> 127 on green and blue.
    np.testing.assert_array_equal(result, pixels([[(255, 127, 127), WHITE], [WHITE, WHITE]]))


# --- decoding --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def large_jpeg() -> bytes:
    return encode(solid((10, 120, 200), (4000, 3000)), "JPEG", quality=95)


@pytest.mark.parametrize(
    ("size", "decoded_size"),
    [(224, (500, 375)), (400, (1000, 750)), (1500, (2000, 1500)), (3000, (4000, 3000))],
)
def test_jpeg_is_decoded_at_the_smallest_dct_scale_still_covering_size(
    large_jpeg, size, decoded_size
):
    assert decode(large_jpeg, size=size).size == decoded_size


def test_large_jpeg_keeps_its_colour(large_jpeg):
    result = load_image(large_jpeg, size=224, mode="crop").astype(int)

    # JPEG colour conversion and 1/8 DCT scaling round differently from the encoder: +-1.
    np.testing.assert_allclose(result, np.full((224, 224, 3), (10, 120, 200)), atol=1)


def test_same_input_gives_identical_arrays_from_every_source_kind(tmp_path):
    image = Image.effect_noise((50, 30), 60).convert("RGB")
    data = encode(image, "JPEG", quality=80)
    path = tmp_path / "noise.jpg"
    path.write_bytes(data)

    first = load_image(data, size=24)

    with path.open("rb") as stream:
        from_stream = load_image(stream, size=24)
    for other in [
        load_image(data, size=24),
        load_image(bytearray(data), size=24),
        load_image(str(path), size=24),
        load_image(path, size=24),
        load_image(io.BytesIO(data), size=24),
        from_stream,
    ]:
        np.testing.assert_array_equal(other, first)


def truncated(image_format: str) -> bytes:
    data = encode(Image.effect_noise((64, 64), 60).convert("RGB"), image_format)
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", EMPTY_IMAGE_MESSAGE),
        (np.random.default_rng(0).bytes(1000), UNRECOGNISED_IMAGE_MESSAGE),
        (encode(solid(RED), "PPM"), UNRECOGNISED_IMAGE_MESSAGE),  # valid, but not accepted
        (truncated("JPEG"), CORRUPT_IMAGE_MESSAGE),
        (truncated("PNG"), CORRUPT_IMAGE_MESSAGE),
    ],
    ids=["empty", "random", "ppm", "truncated-jpeg", "truncated-png"],
)
def test_bad_input_raises_image_decode_error(data, message):
    with pytest.raises(ImageDecodeError) as raised:
        load_image(data, size=8)

    assert str(raised.value) == message
    assert isinstance(raised.value, ValueError)


def test_a_missing_file_is_an_os_error_not_a_decode_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "missing.png", size=8)


def with_png_size(data: bytes, width: int, height: int) -> bytes:
    """`data` (a PNG) with its header claiming another size; the pixel data stays as it was."""
    header = struct.pack(">II", width, height) + data[24:29]  # IHDR: size, then 5 format bytes
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return data[:16] + header + crc + data[33:]


def test_max_pixels_is_checked_on_the_header_before_decoding():
    # A 4x4 PNG whose header claims 8000x5001 = 40_008_000 pixels: if anything were decoded, the
    # error would be "corrupt", not "too large".
    data = with_png_size(encode(solid(RED)), 8000, 5001)

    with pytest.raises(ImageDecodeError) as raised:
        load_image(data, size=8)

    assert str(raised.value) == TOO_MANY_PIXELS_MESSAGE.format(
        width=8000, height=5001, limit=40_000_000
    )


def test_max_pixels_is_inclusive_and_configurable():
    data = encode(solid(RED, (100, 50)))

    assert load_image(data, size=8, max_pixels=5000).shape == (8, 8, 3)
    with pytest.raises(ImageDecodeError) as raised:
        load_image(data, size=8, max_pixels=4999)
    assert str(raised.value) == "The image is too large: 100x50 pixels, the limit is 4999."


def test_pillow_decompression_bomb_error_becomes_a_decode_error():
    data = with_png_size(encode(solid(RED)), 20_000, 20_000)  # over Pillow's 2 x 89 MP limit

    with pytest.raises(ImageDecodeError, match="could be decompression bomb"):
        load_image(data, size=8, max_pixels=10**9)


@pytest.mark.parametrize(("size", "mode"), [(0, "pad"), (-1, "crop"), (8, "stretch")])
def test_bad_arguments_are_a_plain_value_error(size, mode):
    with pytest.raises(ValueError) as raised:
        load_image(encode(solid(RED)), size=size, mode=mode)

    assert not isinstance(raised.value, ImageDecodeError)


# --- batches ---------------------------------------------------------------------------------


def test_load_batch_stacks_images_in_order():
    sources = [encode(solid(RED)), encode(solid(BLUE, (8, 2)))]

    batch = load_batch(sources, size=4, mode="crop")

    assert (batch.shape, batch.dtype) == ((2, 4, 4, 3), np.uint8)
    np.testing.assert_array_equal(batch[0], load_image(sources[0], size=4, mode="crop"))
    np.testing.assert_array_equal(batch[1], np.full((4, 4, 3), BLUE, dtype=np.uint8))


def test_load_batch_of_nothing_is_an_empty_batch():
    batch = load_batch([], size=4)

    assert (batch.shape, batch.dtype) == ((0, 4, 4, 3), np.uint8)


def test_load_batch_names_the_failing_image():
    with pytest.raises(ImageDecodeError) as raised:
        load_batch([encode(solid(RED)), b""], size=4)

    assert str(raised.value) == f"Image 1: {EMPTY_IMAGE_MESSAGE}"
