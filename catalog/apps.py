from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalogue"

    def ready(self) -> None:
        from django.conf import settings
        from PIL import Image

        from . import checks  # noqa: F401 - registers the database check

        # Explicit, not Pillow's default (89 Mpx): every decode in this process, the embedding
        # worker's included, refuses a decompression bomb above prodsim's own pixel limit.
        Image.MAX_IMAGE_PIXELS = settings.PRODSIM_MAX_IMAGE_PIXELS
