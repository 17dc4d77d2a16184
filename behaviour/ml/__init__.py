"""Plain Python + NumPy behaviour models: co-occurrence, popularity and their offline measure.

Nothing in this package imports Django, so it runs from scripts and is unit-testable on tiny
arrays. Lines (order lines, view events) come in as parallel NumPy arrays of integer keys, item
indices and Unix-second timestamps.
"""
