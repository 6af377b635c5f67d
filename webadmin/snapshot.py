"""Draw detection boxes and plate text on a live frame for aiming."""

from __future__ import annotations

import datetime as dt

import cv2
import numpy as np

from webadmin.context import LiveFrame

GREEN = (60, 220, 60)


def annotate(frame: LiveFrame) -> bytes:
    """JPEG of the frame with each detection outlined and labelled (unchanged if undecodable)."""
    if not frame.detections:
        return frame.jpeg
    image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return frame.jpeg
    thick = max(2, image.shape[1] // 400)
    for (x, y, w, h), text, score in frame.detections:
        p1, p2 = (int(x), int(y)), (int(x + w), int(y + h))
        cv2.rectangle(image, p1, p2, GREEN, thick)
        label = f"{text or '?'} {score:.2f}"
        cv2.putText(image, label, (p1[0], max(18, p1[1] - 8)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5 * thick, GREEN, thick, cv2.LINE_AA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return buf.tobytes() if ok else frame.jpeg


def utc_iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")
