"""The detector network (Keras) and its losses.

A small fully-convolutional net: a depthwise-separable backbone down to stride 32, a light
feature pyramid back up to stride 4, and two 1x1 heads (heat: 1 sigmoid channel, reg: 12
channels, see inference.detector). About 0.2 M parameters and ~0.15 GMAC at 640x384, so the
int8 file is a few hundred KB and runs in a few ms on one core.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from inference.detector import REG_CHANNELS


def _cbr(x, filters: int, kernel: int = 3, stride: int = 1, name: str = ""):
    x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _sep(x, filters: int, stride: int = 1, name: str = "", residual: bool = True):
    """Depthwise 3x3 + pointwise 1x1, with a residual when shapes allow."""
    y = layers.DepthwiseConv2D(3, stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
    y = layers.BatchNormalization(name=f"{name}_dw_bn")(y)
    y = layers.ReLU(name=f"{name}_dw_relu")(y)
    y = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(y)
    y = layers.BatchNormalization(name=f"{name}_pw_bn")(y)
    if residual and stride == 1 and x.shape[-1] == filters:
        y = layers.Add(name=f"{name}_add")([x, y])
    return layers.ReLU(name=f"{name}_relu")(y)


def build_model(height: int | None = None, width: int | None = None, width_mult: float = 1.0,
                batch_size: int | None = None) -> keras.Model:
    """Input (H, W, 1) float in [0, 1]; outputs heat (H/4, W/4, 1) and reg (H/4, W/4, 12)."""
    c = [max(8, int(round(v * width_mult / 8)) * 8) for v in (16, 32, 48, 96, 128)]
    inp = keras.Input((height, width, 1), batch_size=batch_size, name="image")
    x = _cbr(inp, c[0], 3, 2, "stem")                      # /2
    x = _sep(x, c[1], 2, "s4a")                            # /4
    f4 = _sep(x, c[1], 1, "s4b")
    x = _sep(f4, c[2], 2, "s8a")                           # /8
    x = _sep(x, c[2], 1, "s8b")
    f8 = _sep(x, c[2], 1, "s8c")
    x = _sep(f8, c[3], 2, "s16a")                          # /16
    x = _sep(x, c[3], 1, "s16b")
    f16 = _sep(x, c[3], 1, "s16c")
    x = _sep(f16, c[4], 2, "s32a")                         # /32
    f32 = _sep(x, c[4], 1, "s32b")

    def up(top, lateral, filters, name):
        # bilinear converts to RESIZE_BILINEAR, which XNNPACK runs; nearest becomes slow TILEs
        t = layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_up")(
            _cbr(top, filters, 1, 1, f"{name}_top"))
        lat = _cbr(lateral, filters, 1, 1, f"{name}_lat")
        return _sep(layers.Add(name=f"{name}_sum")([t, lat]), filters, 1, f"{name}_mix")

    p16 = up(f32, f16, c[2] + 16, "p16")
    p8 = up(p16, f8, c[2], "p8")
    p4 = up(p8, f4, c[1], "p4")
    h = _sep(p4, c[1], 1, "head")
    heat = layers.Conv2D(1, 1, activation="sigmoid", name="heat",
                         bias_initializer=keras.initializers.Constant(-4.6))(h)
    reg = layers.Conv2D(REG_CHANNELS, 1, name="reg")(h)
    return keras.Model(inp, [heat, reg], name="plate_detector")


def focal_loss(heat_t, heat_p, weight):
    """CenterNet's penalty-reduced focal loss, normalised by the number of centres."""
    p = tf.clip_by_value(heat_p, 1e-4, 1 - 1e-4)
    pos = tf.cast(heat_t >= 0.999, tf.float32)
    pos_loss = -tf.math.log(p) * (1 - p) ** 2 * pos
    neg_loss = -tf.math.log(1 - p) * p**2 * (1 - heat_t) ** 4 * (1 - pos) * weight
    return (tf.reduce_sum(pos_loss) + tf.reduce_sum(neg_loss)) / tf.maximum(tf.reduce_sum(pos), 1.0)


def reg_loss(reg_t, reg_p, reg_w, corner_w):
    """L1 on centre offset and log size where reg_w > 0; L1 on corners weighted by corner_w."""
    err = tf.abs(reg_t - reg_p)
    box = tf.reduce_sum(err[..., :4] * reg_w) / tf.maximum(tf.reduce_sum(reg_w), 1.0)
    corners = tf.reduce_sum(err[..., 4:] * corner_w) / tf.maximum(tf.reduce_sum(reg_w), 1.0)
    return box, corners
