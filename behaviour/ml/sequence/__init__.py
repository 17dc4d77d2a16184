"""A learned sequence recommender over each visitor's time-ordered events (issue #17).

Two architectures share one item representation: a GRU over the events (GRU4Rec style) and
causal self-attention (SASRec style). An item's vector is a learned id embedding plus a learned
projection of its content vector (image/text), so an item with few or no events still lands
next to items that look alike (cold start). Modules:

- `config`    SequenceConfig, the training parameters (to_dict / from_dict for version rows)
- `data`      NumPy: per-visitor sequences, the time split, training windows (no TensorFlow)
- `train`     Keras 3: build and train a model; weights come back as a NumPy dict
- `serving`   NumPy: SequenceScorer, the trained model without TensorFlow (web process)
- `artifacts` NumPy: save / load weights and config as one .npz (no pickle)
- `hybrid`    NumPy: the served score, sequence + co-occurrence + content + own repeats

Only `train` (and whatever calls it: worker, command, bench) imports TensorFlow/Keras; the
rest is safe in the web process. Nothing here imports Django.
"""
