"""`alpr train ocr`: train the plate OCR and export float + int8 TFLite with its manifest.

Nothing heavy is imported here: TensorFlow loads inside run().
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("inference/models"),
        help="folder for ocr_float.tflite, ocr_int8.tflite, ocr.manifest.json",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder with crops/ and scenes/ (real labelled plates)",
    )
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps (default 3000; 0 with --init: export those weights "
                        "untrained, e.g. a soup of runs)")
    parser.add_argument(
        "--synthetic",
        type=int,
        default=None,
        help="synthetic plates rendered into the training pool (default 24000)",
    )
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="wall budget for the training loop; the schedule compresses to fit")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--init", type=Path, default=None,
                        help="continue from the Keras weights of an earlier run (ocr.weights.h5)")
    parser.add_argument("--transcribed", type=Path, action="append", default=[],
                        metavar="JSON", help="our transcription of scene plates (e.g. "
                        "docs/eval/ro_dashcam_train_text.json); training-split frames only")
    parser.add_argument("--lr", type=float, default=None,
                        help="peak learning rate (default 2e-3; lower it to fine-tune --init)")
    parser.add_argument("--real-share", type=float, default=None,
                        help="share of each batch drawn from real crops (default 0.4)")
    parser.add_argument("--width", type=float, default=1.0,
                        help="scale every layer's channels (1.0 = the shipped size; 1.4 ~ 1.85x "
                        "the multiply-adds)")
    parser.add_argument(
        "--smoke", action="store_true", help="seconds-long run on synthetic data only (tests, CI)"
    )


def run(args: argparse.Namespace) -> int:
    from inference.training.ocr_train import TrainConfig, train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s",
                        force=True)
    data_root = None if args.smoke else args.data
    if data_root is not None and not data_root.is_dir():
        raise SystemExit(f"training data folder {data_root} not found (use --data DIR)")
    cfg = TrainConfig(
        out_dir=args.out,
        smoke=args.smoke,
        seed=args.seed,
        data_root=data_root,
        steps=args.steps if args.steps is not None else (3 if args.smoke else 3000),
        synthetic=args.synthetic if args.synthetic is not None else (64 if args.smoke else 24000),
        batch=8 if args.smoke else args.batch, max_minutes=args.max_minutes, init=args.init,
        width=args.width,
    )
    if args.lr is not None:
        cfg.lr = args.lr
    if args.real_share is not None:
        cfg.real_share = args.real_share
    cfg.transcribed = tuple(args.transcribed)
    for path in cfg.transcribed:
        if data_root is None or not path.is_file():
            raise SystemExit(f"--transcribed {path}: not found (or used with --smoke)")
    if cfg.init is not None and not cfg.init.is_file():
        raise SystemExit(f"--init weights {cfg.init} not found")
    if not (0 < cfg.lr < 1) or not (0 <= cfg.real_share <= 1):
        raise SystemExit("--lr must be in (0, 1) and --real-share in [0, 1]")
    if not (0.25 <= cfg.width <= 4):
        raise SystemExit("--width must be in [0.25, 4]")
    if cfg.steps < 0 or (cfg.steps == 0 and cfg.init is None) or cfg.synthetic < 1:
        raise SystemExit("--steps and --synthetic must be positive (--steps 0 only with --init: "
                         "export those weights as they are)")
    metrics = train(cfg)
    print(f"exported OCR models to {cfg.out_dir}; int8 metrics: {metrics.get('int8')}")
    return 0
