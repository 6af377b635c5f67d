"""The OCR network: a small CNN with fixed character slots (one softmax per slot, pad symbol).

Input (48, 144, 1) grayscale pixels 0..255 (scaled inside the model, so the int8 model takes raw
uint8 pixels); output (SLOTS, CLASSES) probabilities. About 56 M multiply-adds and 0.7 M
parameters: under a millisecond int8 on one core, under 3 MB as float.
"""

from __future__ import annotations

from inference.rectify import OCR_SIZE
from inference.training.ocr_data import CLASSES, SLOTS


def build_model(slots: int = SLOTS, classes: int = CLASSES):
    import tensorflow as tf
    from tensorflow import keras
    from tensorflow.keras import layers

    def block(x, filters: int, convs: int = 1, pool=(2, 2)):
        for _ in range(convs):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        return layers.MaxPooling2D(pool)(x) if pool else x

    w, h = OCR_SIZE
    inp = keras.Input((h, w, 1), name="crop")
    x = layers.Rescaling(1.0 / 255)(inp)
    x = block(x, 24)  # 24 x 72
    x = block(x, 48)  # 12 x 36
    x = block(x, 64, convs=2)  # 6 x 18
    x = block(x, 128)  # 3 x 9
    x = layers.Conv2D(64, 1, activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Dense(slots * classes)(x)
    x = layers.Reshape((slots, classes))(x)
    out = layers.Softmax(name="slots")(x)
    model = keras.Model(inp, out, name="plate_ocr")
    del tf
    return model
