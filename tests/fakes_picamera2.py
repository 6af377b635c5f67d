"""A fake of the few picamera2 calls Picamera2Source makes, obeying the real rules:
requests must be released, arrays come from a configured camera, capture needs start()."""

from __future__ import annotations

import concurrent.futures

import numpy as np


class FakeRequest:
    def __init__(self, cam: FakePicamera2, fail_array: bool):
        self.cam, self.fail_array, self.released = cam, fail_array, False

    def make_array(self, name: str) -> np.ndarray:
        assert not self.released, "request used after release"
        if self.fail_array:
            raise RuntimeError("buffer mapping failed")
        (w, h) = self.cam.config[name]["size"]
        if name == "main":
            img = np.zeros((h, w, 3), np.uint8)
            img[..., 0] = 200  # blue in BGR
            return img
        return np.full((h * 3 // 2, w), 90, np.uint8)  # YUV420 planar: Y then U, V

    def get_metadata(self) -> dict:
        return {"ExposureTime": self.cam.controls["ExposureTime"], "AnalogueGain": 4.0,
                "Lux": 321.0, "SensorTimestamp": 123}

    def release(self) -> None:
        assert not self.released, "request released twice"
        self.released = True


class FakeJob:
    def __init__(self, result=None, timeout: bool = False):
        self.result, self.timeout = result, timeout

    def get_result(self, timeout=None):
        if self.timeout:
            raise concurrent.futures.TimeoutError()
        return self.result


class FakePicamera2:
    """Records calls; knobs: fail_array (make_array raises), hang (capture times out)."""

    instances: list[FakePicamera2] = []

    def __init__(self, camera_num: int = 0, *, fail_array: bool = False, hang: bool = False):
        self.camera_num, self.fail_array, self.hang = camera_num, fail_array, hang
        self.started = self.closed = False
        self.requests: list[FakeRequest] = []
        self.flushes: list = []
        FakePicamera2.instances.append(self)

    def create_video_configuration(self, main, lores, controls, buffer_count):
        return {"main": main, "lores": lores, "controls": controls, "buffer_count": buffer_count}

    def configure(self, config) -> None:
        self.config, self.controls = config, config["controls"]

    def start(self) -> None:
        self.started = True

    def set_controls(self, controls) -> None:
        self.controls = {**self.controls, **controls}

    def capture_request(self, wait=None, flush=None):
        assert self.started and not self.closed, "capture on a stopped camera"
        assert wait is False
        self.flushes.append(flush)
        if self.hang:
            return FakeJob(timeout=True)
        req = FakeRequest(self, self.fail_array)
        self.requests.append(req)
        return FakeJob(req)

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True
