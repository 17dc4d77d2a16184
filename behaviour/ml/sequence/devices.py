"""Where training runs: plain CPU, or a GPU with mixed precision (and tf.distribute under TF)."""

import contextlib
from collections.abc import Iterator

import keras

MIXED_PRECISION = "mixed_float16"


def training_device() -> tuple[str, contextlib.AbstractContextManager]:
    """("cpu", a null scope) or the GPU setup's name and the scope to build the model in.

    On a GPU the scope sets the mixed_float16 policy while the model is built and compiled
    (float32 stays for logits and the attention softmax, see `model` and `encoders`) and puts
    the previous policy back when it ends: each layer keeps the policy it was built with, and
    the global one would otherwise reach every later model of the worker process.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if len(gpus) > 1:
            strategy = tf.distribute.MirroredStrategy()
            return f"MirroredStrategy({len(gpus)} GPU)", _mixed_precision(strategy.scope())
        if gpus:
            # One GPU has nothing to mirror, and TensorFlow places the work on it anyway; a
            # MirroredStrategy would refuse the variables `train` builds after the scope ends.
            return "tensorflow GPU", _mixed_precision(contextlib.nullcontext())
    elif keras.backend.backend() == "jax":
        import jax

        if any(device.platform == "gpu" for device in jax.devices()):
            scope = _mixed_precision(contextlib.nullcontext())
            return f"jax {jax.devices()[0].device_kind}", scope
    return "cpu", contextlib.nullcontext()


@contextlib.contextmanager
def _mixed_precision(scope: contextlib.AbstractContextManager) -> Iterator[None]:
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(MIXED_PRECISION)
    try:
        with scope:
            yield
    finally:
        keras.mixed_precision.set_global_policy(previous)
