"""The choices a model version offers (no TensorFlow import: forms and commands read these)."""

BACKBONES = ("mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "small_cnn")
DEFAULT_BACKBONE = "mobilenet_v2"
WEIGHT_CHOICES_HELP = "'imagenet', 'auto' (imagenet, else random init, logged), 'none', or a path"
LABEL_SOURCES = ("auto", "group", "category")
METRICS = ("cosine", "l2", "ip")
METRIC_COLUMNS = (
    "recall_at_1",
    "recall_at_5",
    "recall_at_10",
    "precision_at_10",
    "map_at_10",
    "ndcg_at_10",
)  # the retrieval figures every version and baseline reports
