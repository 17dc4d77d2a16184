"""The one package that speaks pgvector: vector writes, per-version HNSW indexes, nearest
neighbours, the ranking statement.

Every version's vectors live in shared tables with an untyped `vector` column, so versions of
different dimensions coexist. Each version gets a partial expression index
`((embedding::vector(d)) <opclass>) WHERE model_version_id = N`; queries repeat exactly that
expression and predicate, which is what lets PostgreSQL use the index.

Modules: sql (Statement: SQL with its parameters; literals), session (hnsw.ef_search),
indexes, writes, lexical (the lexical index's rows and k-NN), lexical_copy (a rebuild's bulk
rows), lexical_hnsw, vectors (reading vectors back), filters (which products a search may
return), knn (nearest-neighbour statements), item_vectors and item_knn (a higher app's item vectors,
searched by inner product), signals (a candidate's similarities to the query), ranking (the ranking
statement), prepared (fetching, as a prepared statement where that pays). Callers use the names
re-exported here.
"""

from .filters import products_filter
from .indexes import (
    HNSW_EF_CONSTRUCTION,
    HNSW_M,
    hnsw_index_build,
    hnsw_index_drop,
    hnsw_index_exists,
    index_name,
    invalid_index_drop,
    text_hnsw_index_build,
    text_index_name,
    version_indexes_drop,
)
from .item_knn import item_vectors_explain, item_vectors_nearest
from .item_vectors import (
    ItemVectorSet,
    item_vectors_add,
    item_vectors_index_build,
    item_vectors_index_drop,
    item_vectors_write,
)
from .knn import (
    Neighbour,
    explain_nearest,
    image_knn,
    image_query,
    nearest_products,
    nearest_products_statement,
    nearest_texts,
    neighbours_fetch,
    text_knn,
    text_query,
)
from .lexical import SKETCH_EF_SEARCH, product_texts_write
from .lexical_copy import product_texts_copy
from .lexical_hnsw import lexical_hnsw_build, lexical_hnsw_drop, lexical_hnsw_name
from .ranking import RankingCandidate, RankingCandidates, ranking_candidates, ranking_statement
from .session import DEFAULT_EF_SEARCH, connect_session_settings
from .signals import CandidateSignals, QueryVectors, StoredVectors, candidate_signals
from .sql import OPCLASSES, OPERATORS, Statement
from .vectors import (
    embedded_image_shas,
    product_sketches_for,
    product_vector,
    product_vectors,
    product_vectors_for,
    products_changed_since_their_vectors,
)
from .writes import (
    image_embeddings_upsert,
    product_embeddings_refresh,
    product_text_embeddings_set,
    version_vectors_delete,
)

__all__ = [
    "DEFAULT_EF_SEARCH",
    "HNSW_EF_CONSTRUCTION",
    "HNSW_M",
    "OPCLASSES",
    "OPERATORS",
    "SKETCH_EF_SEARCH",
    "CandidateSignals",
    "ItemVectorSet",
    "Neighbour",
    "QueryVectors",
    "RankingCandidate",
    "RankingCandidates",
    "Statement",
    "StoredVectors",
    "candidate_signals",
    "connect_session_settings",
    "embedded_image_shas",
    "explain_nearest",
    "hnsw_index_build",
    "hnsw_index_drop",
    "hnsw_index_exists",
    "image_embeddings_upsert",
    "image_knn",
    "image_query",
    "index_name",
    "invalid_index_drop",
    "lexical_hnsw_build",
    "lexical_hnsw_drop",
    "lexical_hnsw_name",
    "item_vectors_add",
    "item_vectors_explain",
    "item_vectors_index_build",
    "item_vectors_index_drop",
    "item_vectors_nearest",
    "item_vectors_write",
    "nearest_products",
    "nearest_products_statement",
    "nearest_texts",
    "neighbours_fetch",
    "product_embeddings_refresh",
    "product_text_embeddings_set",
    "product_texts_copy",
    "product_texts_write",
    "product_sketches_for",
    "product_vector",
    "product_vectors",
    "product_vectors_for",
    "products_changed_since_their_vectors",
    "products_filter",
    "ranking_candidates",
    "ranking_statement",
    "text_hnsw_index_build",
    "text_index_name",
    "text_knn",
    "text_query",
    "version_indexes_drop",
    "version_vectors_delete",
]
