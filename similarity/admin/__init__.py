"""The similarity app's admin, one module per sub-domain; importing them registers the
ModelAdmin classes. The extra pages these mount (confirmations, progress, preview) live in
`similarity.admin_views`."""

from .curation import FusionWeightsAdmin, JudgmentAdmin, MerchandisingRuleAdmin
from .gold_photos import GoldPhotoAdmin
from .jobs import JobAdmin
from .lexical import LexicalIndexAdmin
from .versions import ModelVersionAdmin, TrainForm

__all__ = [
    "FusionWeightsAdmin",
    "GoldPhotoAdmin",
    "JobAdmin",
    "JudgmentAdmin",
    "LexicalIndexAdmin",
    "MerchandisingRuleAdmin",
    "ModelVersionAdmin",
    "TrainForm",
]
