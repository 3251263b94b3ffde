"""neural_filter: train a small dense network to imitate an audio filter, then render audio through it.

The package does the work; `fit.py` and `gen.py` are thin command lines over it. Data flows one way:
files (audio) -> arrays (dataset) -> model (model, train) -> arrays (network, render) -> files (audio).
Importing the package is cheap: nothing here imports Keras until a model must be built or trained.
"""

__version__ = "0.1.0"
