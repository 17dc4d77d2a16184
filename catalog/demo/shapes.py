"""Shapes: `body` is an L mask (255 = patterned fabric/glaze), `detail` an RGBA overlay.

The shape says the category. Coordinates are on the 512 px canvas with the object centred
around (256, 260).
"""

from collections.abc import Callable

from PIL import ImageDraw

from .drawing import RGB, Tones, mix

METAL: RGB = (150, 150, 156)
SOLE: RGB = (238, 236, 230)


def _mug(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    body.ellipse((300, 190, 420, 350), fill=255)
    body.ellipse((328, 222, 392, 318), fill=0)
    body.rounded_rectangle((130, 140, 350, 410), radius=34, fill=255)
    detail.ellipse((130, 126, 350, 160), fill=t.dark)
    detail.ellipse((142, 130, 338, 154), fill=mix(t.dark, (0, 0, 0), 0.4))


def _tshirt(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    left = [(206, 100), (140, 122), (62, 196), (112, 262), (158, 226), (158, 430)]
    right = [(354, 430), (354, 226), (400, 262), (450, 196), (372, 122), (306, 100), (256, 146)]
    outline = left + right
    body.polygon(outline, fill=255)
    detail.arc((204, 70, 308, 150), start=20, end=160, fill=t.dark, width=10)
    detail.line([(158, 226), (158, 430)], fill=t.dark, width=3)
    detail.line([(354, 226), (354, 430)], fill=t.dark, width=3)


def _sneaker(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    # Side view, toe to the right: rounded heel, low collar, tongue, laces down the vamp.
    heel_to_tongue = [(92, 344), (84, 250), (100, 214), (150, 206), (194, 226), (222, 180)]
    vamp_to_toe = [(262, 176), (296, 232), (370, 262), (424, 280), (454, 310), (458, 344)]
    body.polygon(heel_to_tongue + vamp_to_toe, fill=255)
    body.ellipse((72, 212, 140, 344), fill=255)
    detail.rounded_rectangle((64, 330, 468, 374), radius=20, fill=SOLE, outline=t.dark, width=3)
    detail.line([(80, 354), (452, 354)], fill=mix(SOLE, (0, 0, 0), 0.25), width=3)
    detail.arc((396, 290, 500, 400), start=180, end=250, fill=t.dark, width=5)  # toe cap
    detail.line([(96, 300), (176, 300), (232, 312)], fill=t.dark, width=5)  # side panel seam
    for k in range(4):
        x, y = 238 + 16 * k, 198 + 14 * k
        detail.line([(x - 14, y + 6), (x + 16, y - 8)], fill=(246, 246, 240), width=7)


def _hat(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    body.ellipse((70, 290, 442, 380), fill=255)
    body.rounded_rectangle((152, 150, 360, 336), radius=60, fill=255)
    detail.rectangle((152, 282, 360, 312), fill=t.dark)
    detail.arc((70, 290, 442, 380), start=0, end=180, fill=t.dark, width=4)


def _cushion(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    body.rounded_rectangle((106, 116, 406, 406), radius=46, fill=255)
    detail.rounded_rectangle((106, 116, 406, 406), radius=46, outline=t.dark, width=10)
    detail.ellipse((244, 249, 268, 273), fill=t.dark)


def _lamp(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    body.polygon([(196, 96), (316, 96), (384, 250), (128, 250)], fill=255)
    detail.rectangle((249, 250, 263, 404), fill=METAL)
    detail.ellipse((176, 392, 336, 426), fill=METAL, outline=mix(METAL, (0, 0, 0), 0.3), width=3)
    detail.line([(128, 250), (384, 250)], fill=t.dark, width=6)


def _plate(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    body.ellipse((64, 146, 448, 386), fill=255)
    detail.ellipse((64, 146, 448, 386), outline=t.dark, width=5)
    detail.ellipse((140, 194, 372, 338), outline=t.dark, width=5)
    detail.ellipse((150, 200, 362, 332), outline=mix(t.dark, (255, 255, 255), 0.5), width=3)


def _ball(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    body.ellipse((116, 116, 396, 396), fill=255)
    detail.line([(256, 116), (256, 396)], fill=t.dark, width=6)
    detail.line([(116, 256), (396, 256)], fill=t.dark, width=6)
    detail.arc((30, 116, 210, 396), start=-55, end=55, fill=t.dark, width=6)
    detail.arc((302, 116, 482, 396), start=125, end=235, fill=t.dark, width=6)
    detail.ellipse((170, 160, 220, 196), fill=(255, 255, 255, 110))


def _notebook(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    body.rounded_rectangle((150, 92, 376, 424), radius=10, fill=255)
    detail.rectangle((200, 150, 330, 204), fill=(246, 244, 236), outline=t.dark, width=3)
    detail.line([(350, 92), (350, 424)], fill=t.dark, width=8)
    for y in range(112, 416, 24):
        detail.ellipse((134, y, 170, y + 14), outline=METAL, width=5)


def _backpack(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, t: Tones) -> None:
    detail.rounded_rectangle((128, 180, 156, 400), radius=12, fill=t.dark)
    detail.rounded_rectangle((356, 180, 384, 400), radius=12, fill=t.dark)
    body.rounded_rectangle((148, 132, 364, 424), radius=64, fill=255)
    detail.arc((220, 92, 292, 160), start=180, end=360, fill=t.dark, width=10)
    detail.rounded_rectangle((182, 296, 330, 400), radius=24, outline=t.dark, width=6)
    detail.line([(196, 318), (316, 318)], fill=METAL, width=4)


ShapeDrawer = Callable[[ImageDraw.ImageDraw, ImageDraw.ImageDraw, Tones], None]
SHAPES: dict[str, ShapeDrawer] = {
    "mug": _mug,
    "tshirt": _tshirt,
    "sneaker": _sneaker,
    "hat": _hat,
    "cushion": _cushion,
    "lamp": _lamp,
    "plate": _plate,
    "ball": _ball,
    "notebook": _notebook,
    "backpack": _backpack,
}
