"""Category filters as partners send them: a path ("Home > Decor > Lamps") or the slug the
product list takes ("home-decor-lamps"), checked, so a typo is a 400 instead of an empty list."""

from django.db.models import Q

from ..importers import normalise_category_path
from ..models import Category

ERROR_NO_CATEGORY = (
    'no category has the path or slug "{value}"; send a path such as "Home > Decor > Lamps" '
    'or a slug such as "home-decor-lamps"'
)


def category_paths(values: list[str]) -> dict[str, str]:
    """Each value that names a category → its path (one query). A path is looked up first, so
    a slug that happens to be another category's one-level path names that category."""
    paths = {value: normalise_category_path(value) for value in values}
    found = Category.objects.filter(Q(path__in=paths.values()) | Q(slug__in=values))
    by_path, by_slug = {}, {}
    for path, slug in found.values_list("path", "slug"):
        by_path[path], by_slug[slug] = path, path
    return {
        value: by_path.get(paths[value]) or by_slug[value]
        for value in values
        if paths[value] in by_path or value in by_slug
    }
