"""Plate detector: letterbox a frame, run the centre-heatmap model, decode boxes and corners.

The model (trained by inference/training/detector_*.py) is fully convolutional on a grayscale
letterboxed input in [0, 1]. At every cell of its stride-`STRIDE` output grid it predicts
  heat: probability that a plate centre lies in that cell (sigmoid),
  reg:  12 numbers: centre offset (dx, dy) in cells from the cell centre; log(w/STRIDE),
        log(h/STRIDE); four corners (TL, TR, BR, BL) as offsets from the centre in units of the
        box width/height.
Peaks of the heatmap (3x3 local maxima above a threshold) become detections; overlapping ones
are merged by non-maximum suppression. Everything outside the model is numpy + OpenCV.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference.runtime import MODELS_DIR, Model, ModelError
from inference.types import Detection
from inference.verifier import Verifier, VerifierSettings

logger = logging.getLogger(__name__)

STRIDE = 4
REG_CHANNELS = 12
MANIFEST = MODELS_DIR / "detector.manifest.json"


@dataclass(frozen=True)
class Confirmation:
    """A two-tier operating point, chosen on the training split by
    inference.training.detector_confirm and recorded in the manifest's `confirmation` block:
    a detection scoring at least `confirm` is a plate; one scoring between `propose` and
    `confirm` only when the OCR reads at least `min_chars` characters from it, ranked with a
    confidence of at least `min_confidence` (signs, grilles and stickers rarely read as a
    plate-length string, and when they do the reader is rarely sure of it). It recovers plates
    the net scores just under its single operating point without letting in the clutter that
    scores as low. A block without `min_confidence` asks none (manifests before session 8)."""

    propose: float
    confirm: float
    min_chars: int
    min_confidence: float = 0.0

    @classmethod
    def from_manifest(cls, manifest: dict) -> Confirmation | None:
        block = manifest.get("confirmation")
        if block is None:
            return None
        try:
            c = cls(float(block["propose"]), float(block["confirm"]), int(block["min_chars"]),
                    float(block.get("min_confidence", 0.0)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"detector manifest: bad confirmation block {block!r}") from exc
        if (not 0 < c.propose <= c.confirm <= 1 or c.min_chars < 1
                or not 0 <= c.min_confidence < 1):
            raise ModelError(f"detector manifest: confirmation needs 0 < propose <= confirm <= 1, "
                             f"min_chars >= 1 and 0 <= min_confidence < 1, got {block!r}")
        return c

    def keeps(self, score: float, text: str | None, confidence: float = 0.0) -> bool:
        """Whether a detection with this score, read as `text` (None: nothing read) with this
        confidence (the top candidate's), is kept."""
        return score >= self.confirm or (text is not None and len(text) >= self.min_chars
                                         and confidence >= self.min_confidence)


@dataclass(frozen=True)
class Letterbox:
    """Frame -> model input mapping: input = frame * scale (placed at the top-left corner)."""

    scale: float
    width: int  # resized frame size inside the input
    height: int

    def to_frame(self, pts: np.ndarray) -> np.ndarray:
        return np.asarray(pts, dtype=np.float32) / self.scale

    def to_input(self, pts: np.ndarray) -> np.ndarray:
        return np.asarray(pts, dtype=np.float32) * self.scale


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 1:
        return image[:, :, 0]
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def letterbox(image: np.ndarray, in_w: int, in_h: int,
              pad: int = 0) -> tuple[np.ndarray, Letterbox]:
    """Resize a BGR or gray frame into an in_h x in_w gray canvas keeping the aspect ratio."""
    gray = to_gray(image)
    h, w = gray.shape
    scale = min(in_w / w, in_h / h)
    rw, rh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    canvas = np.full((in_h, in_w), pad, dtype=np.uint8)
    canvas[:rh, :rw] = cv2.resize(gray, (rw, rh), interpolation=interp)
    return canvas, Letterbox(scale, rw, rh)


def peaks(heat: np.ndarray, threshold: float, top_k: int = 50) -> np.ndarray:
    """(row, col) of 3x3 local maxima of a 2-D heatmap at or above threshold, best first."""
    dil = cv2.dilate(heat.astype(np.float32), np.ones((3, 3), np.uint8))
    ys, xs = np.nonzero((heat >= threshold) & (heat >= dil))
    order = np.argsort(-heat[ys, xs], kind="stable")[:top_k]
    return np.stack([ys[order], xs[order]], axis=1)


def decode(heat: np.ndarray, reg: np.ndarray, threshold: float, stride: int = STRIDE,
           top_k: int = 50) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model outputs (Hc, Wc) and (Hc, Wc, 12) -> boxes (N,4 xywh), scores (N,), corners (N,4,2)
    in model-input pixels."""
    rc = peaks(heat, threshold, top_k)
    if len(rc) == 0:
        return (np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                np.zeros((0, 4, 2), np.float32))
    r = reg[rc[:, 0], rc[:, 1]].astype(np.float32)
    cx = (rc[:, 1] + 0.5 + r[:, 0]) * stride
    cy = (rc[:, 0] + 0.5 + r[:, 1]) * stride
    w = np.exp(np.clip(r[:, 2], -2, 8)) * stride
    h = np.exp(np.clip(r[:, 3], -2, 8)) * stride
    corners = r[:, 4:12].reshape(-1, 4, 2) * np.stack([w, h], 1)[:, None, :]
    corners += np.stack([cx, cy], 1)[:, None, :]
    boxes = np.stack([cx - w / 2, cy - h / 2, w, h], 1).astype(np.float32)
    return boxes, heat[rc[:, 0], rc[:, 1]].astype(np.float32), corners.astype(np.float32)


def iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes a (N,4) and b (M,4), both x, y, w, h."""
    a = np.asarray(a, np.float32).reshape(-1, 4)
    b = np.asarray(b, np.float32).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
    y2 = np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.3) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    ious = iou_xywh(boxes, boxes)
    keep: list[int] = []
    suppressed = np.zeros(len(order), bool)
    for i in order:
        if suppressed[i]:
            continue
        keep.append(int(i))
        suppressed |= ious[i] > iou_threshold
    return np.asarray(keep, dtype=np.int64)


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Sort four points into top-left, top-right, bottom-right, bottom-left."""
    pts = np.asarray(pts, np.float32).reshape(4, 2)
    c = pts.mean(0)
    ang = np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0])
    pts = pts[np.argsort(ang)]  # clockwise in image coordinates
    # The top edge runs left to right: of the four clockwise edges it has the largest x extent.
    # (Smallest x + y picks the wrong corner once a short plate is tilted near 45 degrees.)
    start = np.argmax(np.roll(pts, -1, axis=0)[:, 0] - pts[:, 0])
    return np.roll(pts, -start, axis=0)


def _default_threshold(model: Model) -> float:
    """The single operating point recorded with the model (its manifest's default_threshold)."""
    try:
        value = float(model.manifest.get("default_threshold", 0.4))
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{model.path.name}: bad default_threshold in its manifest") from exc
    if not 0 < value <= 1:
        raise ModelError(f"{model.path.name}: default_threshold {value} is not in (0, 1]")
    return value


def _check_input(model: Model) -> None:
    shape = model.input_spec.shape
    if len(shape) != 4 or shape[3] != 1:
        raise ModelError(f"{model.path.name}: input {shape} is not a (1, H, W, 1) detector")


class Detector:
    """Finds plates in full BGR frames with the shipped (or a given) `.tflite` model."""

    def __init__(self, model_path: str | Path | None = None,
                 manifest: str | Path | dict | None = None,
                 num_threads: int = 1, threshold: float | None = None, nms_iou: float = 0.3,
                 runtime: str = "auto", coarse: bool = True, verify: bool = True) -> None:
        path = Path(model_path) if model_path else MODELS_DIR / "detector_int8.tflite"
        if not path.is_absolute() and not path.exists():
            path = MODELS_DIR / path
        if manifest is None:  # the manifest beside the model file (the shipped one by default)
            manifest = path.parent / MANIFEST.name
        self.threshold = threshold
        self.fixed_threshold = threshold is not None  # a caller's threshold: one tier only
        self.confirmation: Confirmation | None = None  # see _use
        self.nms_iou = nms_iou
        self.runtime = runtime
        self.use_coarse = coarse
        self.coarse: Model | None = None  # see _coarse_for
        self.coarse_min_width = 0.0  # coarse-input px; narrower coarse detections are dropped
        self.use_verifier = verify
        self.verifier: Verifier | None = None  # see _verifier_for
        self._use(Model(path, manifest, num_threads=num_threads, runtime=runtime))

    def _use(self, model: Model) -> None:
        model = self._prefer_float_on_tflite_runtime(model)
        coarse = verifier = None
        try:  # every check before any setting changes: a refused model leaves them all as they were
            _check_input(model)
            coarse, min_width = self._coarse_for(model)
            verifier = self._verifier_for(model)
            confirmation = None if self.fixed_threshold else Confirmation.from_manifest(
                model.manifest)
            threshold = self.threshold if self.fixed_threshold else _default_threshold(model)
        except Exception:
            model.close()  # refused as a whole; the caller keeps what it had
            for extra in (coarse, verifier):
                if extra is not None:
                    extra.close()
            raise
        self.model, self.coarse, self.confirmation = model, coarse, confirmation
        self.verifier = verifier
        self.coarse_min_width, self.threshold = min_width, threshold
        _, self.in_h, self.in_w, _ = model.input_spec.shape

    def _coarse_for(self, model: Model) -> tuple[Model | None, float]:
        """The coarse-pass file of the model's variant when its manifest lists one: the same net
        at a quarter of the input area, for plates wider than the full pass learnt (see
        inference.training.detector_coarse). Verified against the manifest like every file.
        Returns it with the narrowest width (coarse-input px) its detections may have."""
        block = model.manifest.get("coarse") if self.use_coarse else None
        if not block:
            return None, 0.0
        variant = model.manifest.get("files", {}).get(model.path.name, {}).get("variant")
        name = block.get("files", {}).get(variant)
        if name is None:
            return None, 0.0
        coarse = Model(model.path.with_name(name), model.manifest, model.num_threads,
                       runtime=model.runtime)
        try:
            _check_input(coarse)
            min_width = float(block.get("min_width", 0.0))
        except (ModelError, TypeError, ValueError):
            coarse.close()
            raise
        return coarse, min_width

    def _verifier_for(self, model: Model) -> Verifier | None:
        """The plate verifier of the model's variant when its manifest has a `verifier` block
        (inference.verifier), sha256-checked like every model file."""
        settings = VerifierSettings.from_manifest(model.manifest) if self.use_verifier else None
        if settings is None:
            return None
        variant = model.manifest.get("files", {}).get(model.path.name, {}).get("variant")
        name = settings.files.get(variant)
        if name is None:
            raise ModelError(f"detector manifest: no {variant} verifier file")
        vmodel = Model(model.path.with_name(name), model.manifest, model.num_threads,
                       runtime=model.runtime)
        try:
            return Verifier(vmodel, settings)
        except ModelError:
            vmodel.close()
            raise

    def swap_model(self, model_path: str | Path, manifest: str | Path | dict | None = None) -> None:
        """Load another model file; if it is refused (hash, corrupt, wrong shape) the error is
        raised and the current model stays in use."""
        path = Path(model_path)
        old = (self.model, self.coarse, self.verifier)
        self._use(Model(path, manifest if manifest is not None else path.parent / MANIFEST.name,
                        num_threads=self.model.num_threads, runtime=self.runtime))
        for m in old:
            if m is not None:
                m.close()
        logger.info("detector model now %s (version %s)", path.name, self.model.version)

    def close(self) -> None:
        for m in (self.model, self.coarse, self.verifier):
            if m is not None:
                m.close()

    @staticmethod
    def _prefer_float_on_tflite_runtime(model: Model) -> Model:
        """tflite-runtime's int8 kernels are ~10x slower than its float ones (measured): when
        we fell back to it, run the float sibling if the manifest lists it."""
        sibling = model.path.with_name(model.path.name.replace("_int8.", "_float."))
        if model.runtime != "tflite_runtime" or sibling == model.path \
                or sibling.name not in model.manifest.get("files", {}):
            return model
        try:
            other = Model(sibling, model.manifest, model.num_threads, runtime="tflite_runtime")
        except Exception as exc:  # keep the int8 model: slower but verified and working
            logger.warning("float sibling %s unusable (%s); keeping int8", sibling.name, exc)
            return model
        logger.warning("tflite_runtime: using %s instead of %s (its int8 path is slow)",
                       sibling.name, model.path.name)
        return other

    def preprocess(self, image: np.ndarray,
                   model: Model | None = None) -> tuple[np.ndarray, Letterbox]:
        model = model or self.model
        _, in_h, in_w, _ = model.input_spec.shape
        canvas, lb = letterbox(image, in_w, in_h)
        return model.input_spec.from_u8(canvas)[None, :, :, None], lb

    def raw(self, image: np.ndarray,
            model: Model | None = None) -> tuple[np.ndarray, np.ndarray, Letterbox]:
        model = model or self.model
        x, lb = self.preprocess(image, model)
        outs = model.run(x)
        heat = next(o for o in outs if o.shape[-1] == 1)[0, :, :, 0]
        reg = next(o for o in outs if o.shape[-1] == REG_CHANNELS)[0]
        return heat, reg, lb

    def detect(self, image: np.ndarray, threshold: float | None = None,
               verify: bool = True) -> list[Detection]:
        """Plates in one frame scoring at least `threshold` (default: the operating threshold),
        best first, in that frame's pixel coordinates. With a coarse pass, its large plates join
        the full pass's before non-maximum suppression. With a verifier (and `verify`), the
        detections scoring under its `vets_below` stay only when it finds them plate-like."""
        threshold = self.threshold if threshold is None else threshold
        passes = [(self.model, 0.0)]
        if self.coarse is not None:
            passes.append((self.coarse, self.coarse_min_width))
        gray = to_gray(image)  # once for both passes
        found = [self._decoded(gray, model, min_w, threshold) for model, min_w in passes]
        boxes, scores, corners = (np.concatenate(parts) for parts in zip(*found, strict=True))
        keep = nms(boxes, scores, self.nms_iou)
        h, w = image.shape[:2]
        out = []
        for i in keep:
            box = boxes[i]
            x0, y0 = max(0.0, float(box[0])), max(0.0, float(box[1]))
            x1 = min(float(w), float(box[0] + box[2]))
            y1 = min(float(h), float(box[1] + box[3]))
            if x1 <= x0 or y1 <= y0:
                continue
            out.append(Detection((x0, y0, x1 - x0, y1 - y0), float(scores[i]),
                                 order_corners(corners[i])))
        if self.verifier is not None and verify and out:
            kept = self.verifier.keep(gray, [d.box for d in out], [d.score for d in out])
            out = [d for d, k in zip(out, kept, strict=True) if k]
        return out

    def _decoded(self, image: np.ndarray, model: Model, min_width: float,
                 threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One pass: boxes (xywh), scores and corners in frame pixels, of plates at least
        `min_width` model-input px wide."""
        heat, reg, lb = self.raw(image, model)
        boxes, scores, corners = decode(heat, reg, threshold)
        big = boxes[:, 2] >= min_width
        return lb.to_frame(boxes[big]), scores[big], lb.to_frame(corners[big])
