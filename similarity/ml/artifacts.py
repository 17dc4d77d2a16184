"""Names of the files an exported model version consists of (no TensorFlow import here)."""

KERAS_FILE = "model.keras"
TFLITE_FILE = "model.tflite"
METADATA_FILE = "metadata.json"
CHECKPOINT_DIR = "checkpoints"
