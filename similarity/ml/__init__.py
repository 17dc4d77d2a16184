"""Plain Python + TensorFlow/Keras: preprocessing, models, training, inference, evaluation.

Nothing in this package imports Django, so it runs from scripts and notebooks and is
unit-testable on tiny arrays.
"""
