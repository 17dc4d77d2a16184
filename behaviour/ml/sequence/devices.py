"""Where training runs: plain CPU, or a GPU with mixed precision (and tf.distribute under TF)."""

import contextlib

import keras


def training_device() -> tuple[str, contextlib.AbstractContextManager]:
    """("cpu", a null scope) or the GPU setup's name and the scope to build the model in.

    Sets the mixed_float16 policy when a GPU is visible (float32 stays for logits and the
    attention softmax, see `model` and `encoders`).
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            keras.mixed_precision.set_global_policy("mixed_float16")
            strategy = tf.distribute.MirroredStrategy()
            return f"MirroredStrategy({len(gpus)} GPU)", strategy.scope()
    elif keras.backend.backend() == "jax":
        import jax

        if any(device.platform == "gpu" for device in jax.devices()):
            keras.mixed_precision.set_global_policy("mixed_float16")
            return f"jax {jax.devices()[0].device_kind}", contextlib.nullcontext()
    return "cpu", contextlib.nullcontext()
