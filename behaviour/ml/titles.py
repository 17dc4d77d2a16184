"""Title neighbours: products whose titles share rare words ("JUMBO BAG RED RETROSPOT" and
"JUMBO BAG PINK POLKADOT"), a side signal for bought together (a shop sells a line's variants,
and launches a new line's pieces, together). Plain NumPy and scikit-learn.
"""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.neighbors import NearestNeighbors

TITLE_WORD = r"[^\W_]+"  # letters and digits: "RETROSPOT", "3D", "12"


def title_pairs(titles: list[str], k: int = 20) -> tuple:
    """(rows, cols, cosine) of each title's k nearest other titles by word TF-IDF (> 0 only)."""
    empty = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    k = min(k, len(titles) - 1)  # kneighbors() without queries leaves each title out
    if k < 1:
        return empty
    try:
        vectors = TfidfVectorizer(token_pattern=TITLE_WORD, sublinear_tf=True).fit_transform(titles)
    except ValueError:  # no title holds a word: no neighbours to lean on
        return empty
    distances, found = NearestNeighbors(n_neighbors=k, metric="cosine").fit(vectors).kneighbors()
    rows = np.repeat(np.arange(len(titles)), found.shape[1])
    cols, sims = found.ravel(), 1.0 - distances.ravel()
    kept = (sims > 1e-9) & (rows != cols)
    return rows[kept], cols[kept].astype(np.int64), sims[kept]
