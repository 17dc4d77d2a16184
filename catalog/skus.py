"""What a SKU may hold: it names the product in the API's and the storefront's URLs, where a "/"
would split it (a URL path cannot carry one inside a segment, even percent-encoded)."""

from django.core.exceptions import ValidationError

ERROR_SKU_SLASH = 'sku contains "/": the product\'s URLs could not name it'


def validate_sku(value: str) -> None:
    """The model field's validator (admin forms); the CSV import checks the same rule."""
    if "/" in value:
        raise ValidationError(ERROR_SKU_SLASH)
