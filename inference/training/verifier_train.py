"""Train the plate verifier (inference.verifier) and choose its operating point, on the
TRAINING split of the scenes only.

1. The shipped detector proposes candidates on every training frame down to a low score
   (0.15); a candidate overlapping a labelled plate or an extra plate (docs/eval/
   scene_extra_plates.json: real plates the labels leave out) at IoU >= 0.3 is a plate, one
   overlapping none above 0.1 is clutter, the few in between are left out. The labelled and
   extra plates' own boxes are plates too. Each is cut (inference.verifier.plate_crop) several
   times with its box jittered, as the detector's boxes are.
2. Four folds, by video for the dash-cam frames: a verifier trained on three folds scores the
   fourth's candidates, so every training candidate gets a probability from a model that never
   saw its frame (out of fold).
3. Rule, fixed before any validation figure: over detector thresholds, `vets_below` and
   `min_score` (optionally with the OCR's >= 4-character confirmation too), the highest
   out-of-fold recall with at most 0.05 false positives per image (extra plates neither hits
   nor false positives); ties: fewer false positives, then the higher threshold. With no rule
   under 0.05, the best F2.
4. The verifier trained on all training candidates is exported (float and int8) into WORK;
   with --record it is copied beside the detector (--model) and written into that detector's
   manifest (`verifier` block; the chosen threshold; the OCR confirmation when the rule keeps
   one, else none).

    python -m inference.training.verifier_train --work DIR [--model detector_int8.tflite] \\
        [--data ../shared/data] [--epochs 10] [--threads 2] [--seed 0] [--record] [--smoke]

Last line of stdout: one JSON object with the out-of-fold sweep's chosen rule and figures.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np

from inference.verifier import CONTEXT, INPUT, plate_crop

logger = logging.getLogger(__name__)

LOW = 0.15  # candidates proposed down to this detector score
JITTER = 8  # cuts per sample (the first one unjittered)
FOLDS = 4
THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45)
VETS_BELOW = (0.45, 0.5, 0.55, 0.6, 0.7)
MIN_SCORE = tuple(round(v, 2) for v in np.arange(0.05, 0.96, 0.05))
MIN_CHARS = (0, 4)  # 0: no OCR confirmation
MAX_FP = 0.05
EXTRA_PLATES = Path(__file__).resolve().parents[2] / "docs" / "eval" / "scene_extra_plates.json"


def group_of(image: str) -> str:
    """Fold key: the video for dash-cam frames (neighbours are near-duplicates), else the file."""
    from inference.eval_data import video_of

    return video_of(image) or image


def fold_of(image: str) -> int:
    return hashlib.sha256(group_of(image).encode()).digest()[0] % FOLDS


def jittered(box, rng: np.random.Generator, n: int) -> list[tuple]:
    """The box, then n - 1 copies shifted by up to 10 % of its width / 15 % of its height and
    scaled by 0.85-1.2 per side: the detector's boxes are about that far off."""
    x, y, w, h = (float(v) for v in box)
    out = [(x, y, w, h)]
    for _ in range(n - 1):
        sw, sh = rng.uniform(0.85, 1.2, 2)
        nw, nh = w * sw, h * sh
        cx = x + w / 2 + rng.uniform(-0.1, 0.1) * w
        cy = y + h / 2 + rng.uniform(-0.15, 0.15) * h
        out.append((cx - nw / 2, cy - nh / 2, nw, nh))
    return out


def synthetic_boxes(rng: np.random.Generator, canvas: np.ndarray, plates: np.ndarray, draw,
                    n: int) -> list[tuple]:
    """Paste n rendered plates (US, EU, BR; day and IR looks; square ones too) into the gray
    frame `canvas` in place, away from its real plates, 28 px to 0.8 of the frame's height wide;
    returns their boxes. Real training plates are few and of few designs (Pakistan-heavy web
    photos, one Romanian dash-cam, Brazil): these teach the verifier what else a plate is."""
    from inference.detector import iou_xywh
    from inference.training.scenes import _paste_quad, paste

    h, w = canvas.shape
    size = min(h, w)
    out = []
    for _ in range(n):
        plate, corners = draw(rng)
        aspect = float(np.ptp(corners[:, 0]) / max(1.0, np.ptp(corners[:, 1])))
        quad = _paste_quad(rng, size, aspect, min_w=28) + np.array(
            [rng.uniform(0, w - size), rng.uniform(0, h - size)], np.float32)
        box = np.array([[*quad.min(0), *np.ptp(quad, 0)]], np.float32)
        if len(plates) and iou_xywh(box, plates).max() > 0.05:
            continue
        paste(rng, canvas, plate, quad, src=corners)
        out.append(tuple(float(v) for v in box[0]))
    return out


def collect(items, detector, recognizer, extra, seed: int, synthetic: int = 0) -> dict:
    """Candidates of every training frame with their cuts, labels and readings; with
    `synthetic`, that many rendered plates per frame as plates too."""
    import cv2

    from inference.detector import iou_xywh, to_gray
    from inference.pipeline import top_candidate

    rng = np.random.default_rng(seed)
    draw = None
    if synthetic:
        from inference.training.detector_render import plate_source

        draw = plate_source(1500, seed=99, p_two_line=0.15)
        syn_rng = np.random.default_rng(seed + 1)
    crops, labels, folds, cand_rows = [], [], [], []
    frames = []
    for n, item in enumerate(items):
        image = cv2.imread(str(item.path), cv2.IMREAD_COLOR)
        gray = to_gray(image)
        gt = np.array([p.box for p in item.plates], np.float32).reshape(-1, 4)
        eb = np.asarray(extra.boxes(item.path.name), np.float32).reshape(-1, 4)
        plates = np.concatenate([gt, eb])
        dets = detector.detect(image, threshold=LOW, verify=False)
        reads = recognizer.read_detections(image, dets)
        fold = fold_of(item.path.name)
        frame = {"image": item.path.name, "fold": fold, "gt": gt.tolist(), "extra": eb.tolist(),
                 "cands": []}
        samples = [(tuple(b), 1) for b in plates]  # the plates' own boxes
        for d, r in zip(dets, reads, strict=True):
            box = np.array([d.box], np.float32)
            best = float(iou_xywh(box, plates).max()) if len(plates) else 0.0
            text, conf = top_candidate(r)
            frame["cands"].append({"box": list(d.box), "score": d.score, "text": text,
                                   "conf": conf, "row": len(cand_rows)})
            cand_rows.append(len(crops) + len(samples) * JITTER)
            samples.append((d.box, 1 if best >= 0.3 else 0 if best <= 0.1 else -1))
        sources = [(gray, samples)]
        if draw is not None:
            canvas = gray.copy()
            boxes = synthetic_boxes(syn_rng, canvas, plates, draw, synthetic)
            sources.append((canvas, [(b, 1) for b in boxes]))
        for frame_gray, frame_samples in sources:
            for box, label in frame_samples:
                for b in jittered(box, rng, JITTER):
                    try:
                        crops.append(plate_crop(frame_gray, b))
                    except ValueError:
                        crops.append(np.zeros(INPUT, np.uint8))
                    labels.append(label)
                    folds.append(fold)
        frames.append(frame)
        if n % 100 == 0:
            logger.info("collected %d/%d frames, %d cuts", n, len(items), len(crops))
    return {"crops": np.stack(crops), "labels": np.array(labels, np.int8),
            "folds": np.array(folds, np.int8), "frames": frames,
            "cand_rows": np.array(cand_rows, np.int64)}


def build_model():
    from tensorflow import keras

    inp = keras.Input((*INPUT, 1), name="image")
    x = inp
    for i, ch in enumerate((16, 32, 64, 96)):
        x = keras.layers.Conv2D(ch, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        if i < 3:
            x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.3)(x)
    out = keras.layers.Dense(1, activation="sigmoid", name="plate")(x)
    return keras.Model(inp, out, name="plate_verifier")


def augment(batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Photometric changes and mirror images on u8 cuts -> float [0, 1] (N, H, W, 1)."""
    x = batch.astype(np.float32) / 255.0
    n = len(x)
    gain = rng.uniform(0.6, 1.4, (n, 1, 1))
    bias = rng.uniform(-0.12, 0.12, (n, 1, 1))
    x = (x - 0.5) * gain + 0.5 + bias
    x += rng.normal(0, 1, x.shape).astype(np.float32) * rng.uniform(0, 0.03, (n, 1, 1))
    flip = rng.random(n) < 0.5
    x[flip] = x[flip, :, ::-1]
    return np.clip(x, 0, 1)[..., None]


def train(crops, labels, epochs: int, seed: int, log_name: str):
    from tensorflow import keras

    keras.utils.set_random_seed(seed)
    keep = labels >= 0
    x, y = crops[keep], labels[keep].astype(np.float32)
    model = build_model()
    steps = epochs * int(np.ceil(len(x) / 128))
    model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
                  "binary_crossentropy")
    rng = np.random.default_rng(seed)
    pos_w = float((y == 0).sum() / max(1, (y == 1).sum()))  # classes weigh the same
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        losses = []
        for i in range(0, len(x), 128):
            idx = order[i:i + 128]
            w = np.where(y[idx] == 1, pos_w, 1.0).astype(np.float32)
            batch = augment(x[idx], rng)
            losses.append(float(model.train_on_batch(batch, y[idx], sample_weight=w)))
        logger.info("%s epoch %d/%d loss %.4f", log_name, epoch + 1, epochs, np.mean(losses))
    return model


def predict(model, crops: np.ndarray) -> np.ndarray:
    return model.predict(crops.astype(np.float32)[..., None] / 255.0, batch_size=256,
                         verbose=0).reshape(-1)


def sweep(frames, prob) -> list[dict]:
    """Recall and false positives per image (extras neither) for every rule of the grid."""
    from inference.eval_data import match, on_extra
    from inference.training.detector_threshold import figures

    n_plates = sum(len(f["gt"]) for f in frames)
    rows = []
    for t, c, v, mc in itertools.product(THRESHOLDS, VETS_BELOW, MIN_SCORE, MIN_CHARS):
        if c < t:
            continue
        detected = fps = 0
        for f in frames:
            boxes = [k["box"] for k in f["cands"] if k["score"] >= t and (
                k["score"] >= c or (prob[k["row"]] >= v and (
                    mc == 0 or (k["text"] is not None and len(k["text"]) >= mc))))]
            boxes = np.array(boxes, np.float32).reshape(-1, 4)
            assigned, fp = match(boxes, f["gt"], 0.3)
            fp -= on_extra(boxes, assigned, f["extra"])
            detected, fps = detected + int(np.count_nonzero(assigned >= 0)), fps + fp
        row = figures(t, detected, fps, n_plates, len(frames))
        rows.append({**row, "vets_below": c, "min_score": v, "min_chars": mc})
    return rows


def choose(rows: list[dict]) -> dict:
    ok = [r for r in rows if r["fp_per_image"] <= MAX_FP]
    if ok:
        return max(ok, key=lambda r: (r["recall"], -r["fp_per_image"], r["threshold"],
                                      -r["min_chars"]))
    return max(rows, key=lambda r: (r["f2"], r["threshold"]))


def record(model_path: Path, paths: dict, chosen: dict, n_cuts: int, version: str,
           synthetic: int = 0) -> None:
    """Copy the verifier files beside the detector and write its block (and the chosen
    threshold / confirmation) into that detector's manifest."""
    from inference.detector import MANIFEST
    from inference.training.export import describe_tflite, save_manifest

    folder = model_path.parent
    manifest = json.loads((folder / MANIFEST.name).read_text())
    for kind, p in paths.items():
        if p.parent.resolve() != folder.resolve():
            shutil.copy2(p, folder / p.name)
        manifest["files"][p.name] = {"variant": kind, **describe_tflite(folder / p.name)}
    rule = "highest recall with <= 0.05 FP/image, extra plates neither"
    manifest["verifier"] = {
        "files": {kind: p.name for kind, p in paths.items()},
        "input": list(INPUT), "context": list(CONTEXT),
        "min_score": chosen["min_score"], "vets_below": chosen["vets_below"],
        "version": version,
        "training_split_out_of_fold": {k: chosen[k] for k in ("recall", "fp_per_image", "f2")},
        "chosen_by": "python -m inference.training.verifier_train (training split, "
                     f"{FOLDS} folds out of fold, {rule})",
        "data": f"{n_cuts} cuts ({JITTER} per candidate or plate) of the scenes' training split: "
                f"detector candidates >= {LOW} and the labelled and extra plates"
                + (f", {synthetic} rendered plates pasted into each frame" if synthetic else "")}
    manifest["default_threshold"] = chosen["threshold"]
    if chosen["min_chars"]:
        manifest["confirmation"] = {"propose": chosen["threshold"],
                                    "confirm": chosen["vets_below"],
                                    "min_chars": chosen["min_chars"],
                                    "chosen_by": manifest["verifier"]["chosen_by"]}
    else:
        manifest.pop("confirmation", None)  # the verifier alone decides the low scores
    save_manifest(folder / MANIFEST.name, manifest)


def main(argv: list[str] | None = None) -> None:
    from inference.detector import Detector
    from inference.eval_data import load_extra_plates, load_scenes
    from inference.ocr import PlateReader, shipped_models
    from inference.pipeline import PlateRecognizer
    from inference.tracker import Tracker
    from inference.training.export import export_tflite

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None,
                        help="the detector that proposes (default: the shipped int8 file)")
    parser.add_argument("--work", type=Path, required=True,
                        help="folder for the candidates cache, the sweep and the exported files")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--extra-plates", type=Path, default=EXTRA_PLATES)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument("--synthetic", type=int, default=2, metavar="N",
                        help="rendered plates pasted into each training frame as plates "
                        "(default 2; 0: real cuts only, as the first verifier)")
    parser.add_argument("--smoke", action="store_true",
                        help="a few frames, to check the tool end to end (not a verifier to ship)")
    parser.add_argument("--record", action="store_true",
                        help="copy the verifier beside --model and write it into its manifest")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    except RuntimeError:  # TensorFlow already ran in this process (a caller's, e.g. a test)
        logger.warning("TensorFlow already initialised here: --threads %d not applied",
                       args.threads)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    det = Detector(args.model, num_threads=1, threshold=LOW, verify=False)
    cache = work / "candidates.npz"
    if cache.exists():  # a rerun (other epochs or seed) proposes nothing again
        z = np.load(cache, allow_pickle=False)
        data = {k: z[k] for k in ("crops", "labels", "folds", "cand_rows")}
        data["frames"] = json.loads((work / "frames.json").read_text())
    else:
        rec = PlateRecognizer(det, PlateReader(shipped_models("auto")), Tracker(region="auto"),
                              region="auto")
        extra = load_extra_plates(args.extra_plates, "train")
        items = load_scenes(args.data / "scenes", "train")
        data = collect(items[::max(1, len(items) // 40)] if args.smoke else items, det, rec,
                       extra, args.seed, args.synthetic)
        np.savez(cache, **{k: data[k] for k in ("crops", "labels", "folds", "cand_rows")})
        (work / "frames.json").write_text(json.dumps(data["frames"]))
    crops, labels, folds = data["crops"], data["labels"], data["folds"]
    logger.info("%d cuts: %d plate, %d clutter, %d left out", len(labels), (labels == 1).sum(),
                (labels == 0).sum(), (labels < 0).sum())

    oof = np.zeros(len(labels), np.float32)
    for k in range(FOLDS):
        held = folds == k
        if held.all() or not held.any():  # only in tiny (smoke) runs
            continue
        model = train(crops[~held], labels[~held], args.epochs, args.seed + k, f"fold {k}")
        oof[held] = predict(model, crops[held])
    rows = sweep(data["frames"], oof[data["cand_rows"]])  # each candidate's unjittered cut
    (work / "sweep.json").write_text(json.dumps(rows))
    chosen = choose(rows)
    logger.info("chosen %s", chosen)

    model = train(crops, labels, args.epochs, args.seed + FOLDS, "final")
    keep = labels >= 0
    rng = np.random.default_rng(args.seed)
    calib = crops[keep][rng.choice(int(keep.sum()), min(300, int(keep.sum())), replace=False)]
    paths = export_tflite(model, [c.astype(np.float32)[None, :, :, None] / 255.0 for c in calib],
                          work, "verifier")
    if args.record:
        record(det.model.path, paths, chosen, len(labels), args.version, args.synthetic)
    print(json.dumps({"chosen": chosen, "cuts": len(labels), "recorded": args.record,
                      "minutes": round((time.monotonic() - started) / 60, 1)}))


if __name__ == "__main__":
    main()
