"""The similarity app's models, one module per sub-domain.

Django registers a package's models only when they are imported: every model is imported here,
and the rest of the code keeps importing from `similarity.models`.
"""

from .gold_photos import GoldPhoto
from .jobs import Job
from .judgments import Judgment
from .lexical import LexicalIndex, ProductText
from .ranking import FusionWeights, MerchandisingRule
from .vectors import ImageEmbedding, ProductEmbedding
from .versions import ModelVersion

__all__ = [
    "GoldPhoto",
    "FusionWeights",
    "ImageEmbedding",
    "Job",
    "Judgment",
    "LexicalIndex",
    "MerchandisingRule",
    "ModelVersion",
    "ProductEmbedding",
    "ProductText",
]
