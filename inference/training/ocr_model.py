"""The OCR network: a small CNN read column by column with CTC.

Input (48, 144, 1) grayscale pixels 0..255 (scaled inside the model, so the int8 model takes raw
pixels); output (COLUMNS, CLASSES) probabilities: one distribution over the alphabet + blank per
4-pixel column of the crop. Convolutions are translation-equivariant, so a character is learnt
once, wherever it sits on the plate (a fixed-slot head must learn it for every slot).
About 70 M multiply-adds and 0.5 M parameters at width 1.0; `width` scales every layer's
channels (rounded to a multiple of 8, which int8 kernels handle well), so the multiply-adds grow
about as width squared.
"""

from __future__ import annotations

from inference.rectify import OCR_SIZE
from inference.training.ocr_data import CLASSES

COLUMNS = OCR_SIZE[0] // 4  # 36 time steps for up to 10 characters


def channels(base: int, width: float) -> int:
    """A layer's channels at this width: base * width, to the nearest multiple of 8 (at least 8)."""
    return max(8, int(base * width / 8 + 0.5) * 8)  # half up (round() would go to even)


def build_model(classes: int = CLASSES, width: float = 1.0):
    from tensorflow import keras
    from tensorflow.keras import layers

    if not width > 0:
        raise ValueError(f"width must be positive, got {width}")

    def conv(x, filters: int, kernel=3):
        x = layers.Conv2D(channels(filters, width), kernel, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    w, h = OCR_SIZE
    inp = keras.Input((h, w, 1), name="crop")
    x = layers.Rescaling(1.0 / 255)(inp)
    x = layers.MaxPooling2D((2, 2))(conv(x, 24))  # 24 x 72
    x = layers.MaxPooling2D((2, 2))(conv(x, 48))  # 12 x 36
    x = conv(conv(x, 64), 64)
    x = layers.MaxPooling2D((2, 1))(x)  # 6 x 36
    x = layers.MaxPooling2D((2, 1))(conv(x, 128))  # 3 x 36
    x = conv(x, 128, kernel=(3, 3))
    top = channels(128, width)
    x = layers.Conv2D(top, (3, 1), padding="valid", activation="relu")(x)  # 1 x 36: columns
    x = layers.Reshape((COLUMNS, top))(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Conv1D(top, 3, padding="same", activation="relu")(x)  # neighbour context
    x = layers.Dense(classes)(x)
    out = layers.Softmax(name="columns")(x)
    return keras.Model(inp, out, name="plate_ocr_ctc")
