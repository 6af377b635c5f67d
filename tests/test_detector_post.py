"""Detector pre/post-processing on synthetic inputs with known answers (no model needed)."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from inference.detector import STRIDE, decode, iou_xywh, letterbox, nms, order_corners, peaks
from inference.eval_data import match


def test_letterbox_keeps_aspect_and_maps_points_back():
    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[100:130, 400:460] = 255  # a 60x30 white block
    canvas, lb = letterbox(frame, 640, 384)
    assert canvas.shape == (384, 640) and canvas.dtype == np.uint8
    assert lb.scale == pytest.approx(0.5) and (lb.width, lb.height) == (640, 360)
    assert canvas[360:].max() == 0  # padding below the resized frame
    ys, xs = np.nonzero(canvas > 127)
    assert (xs.min(), ys.min(), xs.max(), ys.max()) == (200, 50, 229, 64)
    np.testing.assert_allclose(lb.to_frame([[200, 50]]), [[400, 100]])
    np.testing.assert_allclose(lb.to_input([[400, 100]]), [[200, 50]])


def test_letterbox_tall_and_small_frames():
    canvas, lb = letterbox(np.full((1000, 500), 9, np.uint8), 640, 384)
    assert lb.scale == pytest.approx(0.384) and (lb.width, lb.height) == (192, 384)
    assert canvas[:, :192].min() == 9 and canvas[:, 192:].max() == 0
    canvas, lb = letterbox(np.full((100, 200, 3), 50, np.uint8), 640, 384)  # upscaled
    assert lb.scale == pytest.approx(3.2) and lb.width == 640 and lb.height == 320


def _maps(plates, g=(24, 40)):
    """Heat and reg maps encoding the given (x, y, w, h) boxes, as the model should predict."""
    heat = np.zeros(g, np.float32)
    reg = np.zeros(g + (12,), np.float32)
    for (x, y, w, h), score in plates:
        cx, cy = x + w / 2, y + h / 2
        r, c = int(cy // STRIDE), int(cx // STRIDE)
        heat[r, c] = score
        if c + 1 < g[1]:
            heat[r, c + 1] = score * 0.8  # a shoulder that must not become a second peak
        reg[r, c, :4] = [cx / STRIDE - (c + 0.5), cy / STRIDE - (r + 0.5),
                         np.log(w / STRIDE), np.log(h / STRIDE)]
        reg[r, c, 4:] = [-0.5, -0.5, 0.5, -0.5, 0.5, 0.5, -0.5, 0.5]
    return heat, reg


def test_decode_recovers_boxes_scores_and_corners():
    truth = [((20.0, 30.0, 60.0, 16.0), 0.9), ((100.0, 50.0, 32.0, 16.0), 0.6)]
    heat, reg = _maps(truth)
    boxes, scores, corners = decode(heat, reg, threshold=0.5)
    assert len(boxes) == 2
    np.testing.assert_allclose(scores, [0.9, 0.6], rtol=1e-6)
    np.testing.assert_allclose(boxes, [t[0] for t in truth], atol=1e-3)
    x, y, w, h = truth[0][0]
    np.testing.assert_allclose(corners[0], [[x, y], [x + w, y], [x + w, y + h], [x, y + h]],
                               atol=1e-3)
    assert len(decode(heat, reg, threshold=0.95)[0]) == 0


def test_peaks_are_local_maxima_best_first():
    heat = np.zeros((10, 10), np.float32)
    heat[2, 2], heat[2, 3], heat[7, 7] = 0.7, 0.5, 0.9
    assert peaks(heat, 0.4).tolist() == [[7, 7], [2, 2]]
    assert peaks(heat, 0.4, top_k=1).tolist() == [[7, 7]]


def test_nms_suppresses_overlaps_only():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 10, 10]], np.float32)
    keep = nms(boxes, np.array([0.5, 0.9, 0.4]), iou_threshold=0.3)
    assert keep.tolist() == [1, 2]
    assert nms(boxes, np.array([0.5, 0.9, 0.4]), iou_threshold=0.9).tolist() == [1, 0, 2]


def test_iou_known_values():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[5, 0, 10, 10], [20, 20, 5, 5], [0, 0, 10, 10]], np.float32)
    np.testing.assert_allclose(iou_xywh(a, b)[0], [50 / 150, 0, 1])


@settings(max_examples=50, deadline=None)
@given(st.floats(-1, 1), st.floats(20, 200), st.floats(0.1, 1.0), st.floats(-0.3, 0.3))
@example(-1.0, 20.0, 0.4, 0.3)  # a short plate tilted 44 degrees: smallest x + y is not top-left
def test_order_corners_from_any_rotation_and_order(turn, w, ratio, skew):
    # Plates (at least 1.5 : 1) tilted up to 44 degrees; squarer shapes up to 30 degrees (past
    # that a square has no "top" to find).
    angle = turn * np.radians(44 if ratio <= 1 / 1.5 else 30)
    h = w * ratio
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    quad = np.array([[-w / 2, -h / 2], [w / 2, -h / 2 * (1 + skew)], [w / 2, h / 2 * (1 + skew)],
                     [-w / 2, h / 2]]) @ rot.T + 300
    for perm in ([0, 1, 2, 3], [2, 0, 3, 1], [3, 2, 1, 0]):
        np.testing.assert_allclose(order_corners(quad[perm]), quad, atol=1e-3)


def test_match_counts_detections_and_false_positives():
    gt = np.array([[0, 0, 100, 30], [200, 0, 100, 30]], np.float32)
    pred = np.array([[5, 2, 100, 30], [0, 0, 100, 30], [500, 500, 10, 10]], np.float32)
    assigned, fp = match(pred, gt, 0.3)
    assert assigned.tolist() == [1, -1] and fp == 2
    assigned, fp = match(np.zeros((0, 4)), gt)
    assert assigned.tolist() == [-1, -1] and fp == 0
    assigned, fp = match(pred[:1], np.zeros((0, 4)))
    assert assigned.tolist() == [] and fp == 1
