"""Training pipeline (synthetic plates, training, export).

Needs the `train` extra; the unit never imports it.
"""
