"""Similarity models (model versions, embeddings) arrive with the image embedding engine."""
