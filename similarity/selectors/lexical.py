"""Queries as lexical vectors under the current index (NumPy/SciPy only, no TensorFlow)."""

import functools

from ..ml import lexical
from ..models import LexicalIndex


def query_vector(fields: dict[str, str]) -> tuple[LexicalIndex | None, dict[int, float]]:
    """The lexical vector of a query under the current index, from the fields it sent.

    `fields` maps lexical field names (title, brand, model, category, description) to text;
    a field left out or blank adds nothing and costs no product its rank.
    """
    index = LexicalIndex.objects.filter(is_current=True).only("pk").first()
    if index is None:
        return None, {}
    idf, config = _index_state(index.pk)
    return index, lexical.vectorise_record(fields, idf, config)


@functools.lru_cache(maxsize=2)
def _index_state(index_pk: int) -> tuple[lexical.IdfTable, lexical.LexicalConfig]:
    # Unpacking a large catalogue's IDF takes a while; an index's IDF and weights never change.
    row = LexicalIndex.objects.only("idf", "config").get(pk=index_pk)
    config = lexical.LexicalConfig.from_json(row.config) if row.config else lexical.LexicalConfig()
    return lexical.IdfTable.from_json(row.idf), config
