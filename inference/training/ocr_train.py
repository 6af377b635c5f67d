"""Train the plate OCR, export float + int8 TFLite and write the manifest with metrics.

Data per batch: synthetic plates (rendered once into a pool, re-augmented every draw) mixed with
real crops (US crops + plates cut from the Brazilian scenes, training split only), every sample
heavily augmented. Metrics in the manifest are measured with the exported int8 and float
models on the held-out split (see ocr_data.is_validation).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.ocr import SYMBOLS, decode, normalise_contrast
from inference.rectify import OCR_SIZE, rectify
from inference.training import ocr_data as data

logger = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    out_dir: Path
    steps: int = 3000
    batch: int = 64
    synthetic: int = 24000
    real_share: float = 0.4
    lr: float = 2e-3
    seed: int = 1234
    data_root: Path | None = None  # folder holding crops/ and scenes/; None = synthetic only
    # our transcriptions of scene plates (docs/eval/*.json); only training-split frames are used
    transcribed: tuple[Path, ...] = ()
    smoke: bool = False
    max_minutes: float | None = None  # training-loop wall budget; the schedule compresses to fit
    init: Path | None = None  # Keras weights (ocr.weights.h5 of an earlier run) to start from
    width: float = 1.0  # channel multiplier of the model (ocr_model.build_model)


def _set_threads(seed: int):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.keras.utils.set_random_seed(seed)
    return tf


def load_real(root: Path | None, transcribed: tuple[Path, ...] = (),
              ) -> tuple[list[data.RealCrop], list[data.RealCrop]]:
    """(train, validation) real crops under root (crops/ and scenes/), split by file-name hash;
    plus the transcribed scene plates of the training split (all training)."""
    if root is None:
        return [], []
    crops = []
    if (root / "crops" / "crops.jsonl").is_file():
        crops += data.load_us_crops(root / "crops")
    if (root / "scenes" / "labels.jsonl").is_file():
        crops += data.load_scene_crops(root / "scenes")
    train = [c for c in crops if not data.is_validation(c.name)]
    val = [c for c in crops if data.is_validation(c.name)]
    for path in transcribed:
        train += data.load_transcribed(path, root / "scenes")
    logger.info("real crops: %d train, %d validation", len(train), len(val))
    return train, val


def make_batch(cfg: TrainConfig, pool, real: list, rng: np.random.Generator):
    xs, ys = pool
    n_real = int(round(cfg.batch * cfg.real_share)) if real else 0
    bx = np.empty((cfg.batch, OCR_SIZE[1], OCR_SIZE[0]), np.uint8)
    by = np.empty((cfg.batch, data.SLOTS), np.int32)
    for i in range(cfg.batch):
        if i < n_real:
            crop = real[int(rng.integers(len(real)))]
            x, y = data.real_sample(crop, rng), data.encode(crop.text)
        else:
            j = int(rng.integers(len(xs)))
            x, y = xs[j], ys[j]
        bx[i] = normalise_contrast(data.augment(x, rng))
        by[i] = y
    return bx[..., None].astype(np.float32), by


def lr_at(progress: float, cfg: TrainConfig) -> float:
    """Warm-up then cosine decay over training progress 0..1."""
    if progress < 0.05:
        return cfg.lr * max(progress, 0.001) / 0.05
    t = (progress - 0.05) / 0.95
    return cfg.lr * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * min(t, 1.0))))


def progress_at(step: int, started: float, cfg: TrainConfig) -> float:
    """Fraction of training done: by steps, or by the wall budget when that runs out first
    (0 steps: nothing to train, the --init weights are exported as they are)."""
    if cfg.steps == 0:
        return 1.0
    p = step / cfg.steps
    if cfg.max_minutes:
        p = max(p, (time.monotonic() - started) / (cfg.max_minutes * 60))
    return p


def val_sets(cfg: TrainConfig, real_val: list[data.RealCrop]) -> dict[str, list]:
    """Named validation sets of (crop, text): held-out real crops by source, and synthetic."""
    sets: dict[str, list] = {}
    for c in real_val:
        crop = rectify(c.image, c.corners, size=OCR_SIZE, margin=0.03)
        sets.setdefault(c.source, []).append((crop, c.text))
    xs, _, texts = data.synthetic_pool(16 if cfg.smoke else 600, cfg.seed + 1)
    sets["synthetic"] = list(zip(xs, texts, strict=True))
    return sets


def evaluate(read, items: list) -> dict:
    """Exact, top-5 and per-character accuracy of `read(crop) -> OcrResult` on (crop, text)."""
    if not items:
        return {"n": 0}
    exact = top5 = chars = total = 0
    for crop, text in items:
        res = read(crop)
        exact += res.text == text
        top5 += any(t == text for t, _ in res.alternatives)
        chars += sum(a == b for a, b in zip(res.text, text, strict=False))
        total += max(len(text), len(res.text))
    n = len(items)
    return {
        "n": n,
        "exact": round(exact / n, 4),
        "top5": round(top5 / n, 4),
        "char": round(chars / max(1, total), 4),
    }


def _tflite_read(path: Path):
    """crop -> OcrResult with a freshly exported model (no manifest yet to check it against)."""
    from ai_edge_litert.interpreter import Interpreter

    from inference.runtime import TensorSpec

    it = Interpreter(model_path=str(path), num_threads=1)
    it.allocate_tensors()
    i = TensorSpec.from_details(it.get_input_details()[0])
    o = TensorSpec.from_details(it.get_output_details()[0])

    def read(crop: np.ndarray):
        x = normalise_contrast(crop)[None, :, :, None].astype(np.float32)
        it.set_tensor(i.index, i.quantize(x))
        it.invoke()
        return decode(o.dequantize(it.get_tensor(o.index))[0], 5)

    return read


def manifest_extra(info: dict, metrics: dict) -> dict:
    w, h = OCR_SIZE
    return {
        "architecture": "CNN read column by column (36 columns x 37 classes), CTC with blank",
        "input_spec": {"width": w, "height": h, "channels": 1, "pixels": "grayscale 0..255, "
                       "rectified plate with ~3% margin, contrast-stretched (2..98 percentile)"},
        "max_chars": data.SLOTS, "symbols": SYMBOLS, "blank": SYMBOLS[-1],
        "alphabet": SYMBOLS[:-1],
        "training": info,
        "validation_split": "held out when sha256(file name)[0] % 5 == 0 (~20 %), crops and scenes",
        "metrics": metrics,
    }


def ctc_step(tf, model, opt):
    """One compiled CTC training step (blank = the last class)."""

    @tf.function(reduce_retracing=True)
    def step(x, y, lens):
        with tf.GradientTape() as tape:
            probs = model(x, training=True)
            logp = tf.math.log(probs + 1e-7)
            steps = tf.fill([tf.shape(x)[0]], tf.shape(probs)[1])
            loss = tf.reduce_mean(tf.nn.ctc_loss(
                labels=y, logits=logp, label_length=lens, logit_length=steps,
                logits_time_major=False, blank_index=data.PAD))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    return step


def train(cfg: TrainConfig) -> dict:
    tf = _set_threads(cfg.seed)
    from inference.training.export import export_tflite, write_manifest
    from inference.training.ocr_model import build_model

    t0 = time.monotonic()
    real_train, real_val = load_real(cfg.data_root, cfg.transcribed)
    pool_x, pool_y, _ = data.synthetic_pool(cfg.synthetic, cfg.seed)
    logger.info("data ready in %.0f s", time.monotonic() - t0)
    model = build_model(width=cfg.width)
    if cfg.init is not None:
        try:
            model.load_weights(str(cfg.init))
        except ValueError as e:  # shapes differ: another width
            raise ValueError(f"weights {cfg.init} do not fit a width-{cfg.width} model: {e}") from e
        logger.info("starting from weights %s", cfg.init)
    opt = tf.keras.optimizers.Adam(cfg.lr)
    step_fn = ctc_step(tf, model, opt)
    rng = np.random.default_rng(cfg.seed)
    loss_avg, started, step = None, time.monotonic(), 0
    while (progress := progress_at(step, started, cfg)) < 1.0:
        opt.learning_rate.assign(lr_at(progress, cfg))
        bx, by = make_batch(cfg, (pool_x, pool_y), real_train, rng)
        lens = (by != data.PAD).sum(axis=1).astype(np.int32)
        loss = float(step_fn(bx, by, lens))
        loss_avg = loss if loss_avg is None else 0.98 * loss_avg + 0.02 * loss
        if step % 100 == 0:
            logger.info("step %d/%d loss %.4f lr %.5f (%.0f s)", step, cfg.steps, loss_avg,
                        lr_at(progress, cfg), time.monotonic() - t0)
        step += 1
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(cfg.out_dir / "ocr.weights.h5"))  # to continue training (--init)
    rep = np.concatenate(
        [
            make_batch(cfg, (pool_x, pool_y), real_train, rng)[0]
            for _ in range(2 if cfg.smoke else 4)
        ]
    )
    paths = export_tflite(model, rep, cfg.out_dir, "ocr")
    sets = val_sets(cfg, real_val)
    metrics = {
        kind: {name: evaluate(_tflite_read(p), items) for name, items in sets.items()}
        for kind, p in paths.items()
    }
    info = {
        "steps": cfg.steps,
        "batch": cfg.batch,
        "synthetic_pool": cfg.synthetic,
        "real_train": len(real_train),
        "transcribed": [p.name for p in cfg.transcribed],
        "real_share": cfg.real_share,
        "lr": cfg.lr,
        "seed": cfg.seed,
        "steps_done": step,
        "init": cfg.init.name if cfg.init else None,
        "width": cfg.width,
        "parameters": model.count_params(),
        "loose_share": data.LOOSE_SHARE,
        "stacked_share": data.STACKED_SHARE,
        "seconds": round(time.monotonic() - t0),
        "final_loss": round(loss_avg or 0, 4),
    }
    write_manifest(cfg.out_dir / "ocr.manifest.json", "ocr", time.strftime("%Y%m%d", time.gmtime()),
                   paths, **manifest_extra(info, metrics))
    logger.info("metrics %s", json.dumps(metrics))
    return metrics
