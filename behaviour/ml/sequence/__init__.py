"""A learned sequence recommender over each visitor's time-ordered events (issue #17).

Two architectures share one item representation: a GRU over the events (GRU4Rec style) and
causal self-attention (SASRec style). An item's vector is a learned id embedding plus a learned
projection of its content vector (image/text), so an item with few or no events still lands
next to items that look alike (cold start). Modules:

- `config`    SequenceConfig, the training parameters (to_dict / from_dict for version rows)
- `data`      NumPy: per-visitor sequences, the time split, validation histories and targets
- `windows`   NumPy: training windows and their future targets
- `train`     Keras 3: train a model (`model`, `encoders`, `devices`, `checkpoints`); weights
              come back as a NumPy dict
- `serving`   NumPy: SequenceScorer, the trained model without TensorFlow (via `forward`)
- `artifacts` NumPy: save / load weights and config as one .npz (no pickle)
- `hybrid`    NumPy: the served score, sequence + co-occurrence + content + repeats + peers +
              popularity (`signals`, `weights`, `tuning`: weights tuned on a time split's
              validation part), with its explain breakdown
- `peers`     NumPy/SciPy: shopper profiles and the peers signal (user-kNN)
- `metrics`   NumPy: Recall@k and NDCG@k of next purchases

Only `train` and the modules it imports (and whatever calls it: worker, command, bench) import
Keras; `serving`, `hybrid`, `data` and `artifacts` are safe in the web process (tested).
Nothing here imports Django.
"""
