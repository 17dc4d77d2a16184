"""The choices a model version offers (no TensorFlow import: forms and commands read these)."""

BACKBONES = ("mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "small_cnn")
DEFAULT_BACKBONE = "mobilenet_v2"
WEIGHT_CHOICES_HELP = "'imagenet', 'auto' (imagenet, else random init, logged), 'none', or a path"
LABEL_SOURCES = ("auto", "group", "category")
METRICS = ("cosine", "l2", "ip")
# The recipe's choices (TrainingConfig.augmentation, .loss, .learning_rate_schedule), here so
# that the admin form and `train` offer them without importing the training modules.
AUGMENTATIONS = ("phone", "basic")
LOSSES = ("supcon", "multi_similarity", "proxy_anchor")
SCHEDULES = ("constant", "cosine")
METRIC_COLUMNS = (
    "recall_at_1",
    "recall_at_5",
    "recall_at_10",
    "precision_at_10",
    "map_at_10",
    "ndcg_at_10",
)  # the retrieval figures every version and baseline reports
