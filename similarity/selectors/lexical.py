"""Free-text queries as lexical vectors under the current index (NumPy only)."""

import functools

from ..ml import lexical
from ..models import LexicalIndex


def query_vector(text: str) -> tuple[LexicalIndex | None, dict[int, float]]:
    """The lexical vector of a free-text query under the current index."""
    index = LexicalIndex.objects.filter(is_current=True).only("pk").first()
    if index is None:
        return None, {}
    return index, lexical.vectorise(text, _idf(index.pk))


@functools.lru_cache(maxsize=2)
def _idf(index_pk: int) -> lexical.IdfTable:
    # Parsing a large catalogue's IDF takes a while; an index never changes once built.
    return lexical.IdfTable.from_json(LexicalIndex.objects.get(pk=index_pk).idf)
