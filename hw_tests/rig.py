"""The test rig: what a field test runs against. One contract, two backends.

`HardwareRig` is the unit on the bench: its camera, gpiozero's own pin factory (lgpio on a
Pi), the loopback jig's pins named on the command line, the shipped recognizer.
`SimRig` is the same rig made of fakes that obey the hardware's rules: the synthetic scene
behind a camera whose exposure responds to the illuminator's PWM pin, a MockFactory whose jig
pins are wired to the input pins (driving the output drives the input), and fault knobs
(lens cap, defocus, dead IR LEDs, cut jig wire, hot CPU) so failure paths can be tested.
Each test module runs the same checks over either backend.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2

from appliance.config.camera import CameraConfig
from appliance.config.gpio import GpioConfig
from appliance.config.model import AlprConfig
from appliance.gpio import GpioUnavailable, read_cpu_temp_c, resolve_pin_factory

logger = logging.getLogger(__name__)

ROLES = ("trigger", "tamper", "led")


@dataclass
class Options:
    """Pass criteria and jig wiring shared by the tests (command-line flags)."""

    frames: int = 60  # camera: frames measured after warm-up
    warmup_frames: int = 5
    min_fps_ratio: float = 0.8  # measured fps >= ratio * camera.fps
    max_drop_ratio: float = 0.05
    exposure_tolerance: float = 0.15
    min_brightness: float = 10.0  # mean luma: below = black (lens cap, dead sensor)
    max_brightness: float = 245.0  # above = saturated
    min_focus: float = 50.0  # variance of the Laplacian of the frame
    settle_frames: int = 3  # illuminator: frames dropped after a switch
    measure_frames: int = 5
    min_ir_delta: float = 15.0  # mean luma gained with IR on
    jig_trigger_pin: int | None = None
    jig_tamper_pin: int | None = None
    jig_led_pin: int | None = None
    pulses: int = 3
    edge_timeout_s: float = 1.0
    plate: str | None = None  # text of the printed test plate (hardware pipeline test)
    pipeline_frames: int = 300
    min_read_rate: float = 0.8
    max_latency_ms: float = 1000.0  # p95 recognizer time per frame

    def jig_pin(self, role: str) -> int | None:
        return getattr(self, f"jig_{role}_pin")


def load_recognizer(config: AlprConfig):
    """(recognizer, None), or (None, why) when inference.pipeline or its models are missing."""
    try:
        from inference.pipeline import build_recognizer
    except ModuleNotFoundError as exc:
        if exc.name not in ("inference.pipeline", "inference"):
            raise
        return None, "no models: inference.pipeline is not installed yet"
    try:
        return build_recognizer(config.recognition), None
    except (FileNotFoundError, ImportError) as exc:
        return None, f"no models: {exc}"


class HardwareRig:
    """The unit's own camera and pins, plus the loopback jig."""

    simulate = False

    def __init__(self, config: AlprConfig, options: Options):
        self.config, self.options = config, options
        self._factory = None

    def camera(self, purpose: str):
        """The real camera (camera.source = auto means picamera2 here, never a fake)."""
        from appliance.sources import build_source

        cam = self.config.camera
        if cam.source == "synthetic":
            raise ValueError("camera.source = synthetic is not a camera: use --simulate")
        if cam.source == "auto":
            cam = cam.model_copy(update={"source": "picamera2"})
        return build_source(cam)

    def jig_pin(self, role: str) -> int | None:
        """The jig pin for `role` ("trigger", "tamper", "led"), from the command line."""
        return self.options.jig_pin(role)

    def pin_factory(self):
        if self._factory is None:
            self._factory = resolve_pin_factory(None)
            if self._factory is None:
                raise GpioUnavailable("no GPIO pin factory: run on the Pi (with lgpio) "
                                      "or use --simulate")
        return self._factory

    def cpu_temp_c(self) -> float | None:
        return read_cpu_temp_c()

    def recognizer(self):
        return load_recognizer(self.config)

    def expected_plates(self, source) -> list[str]:
        return [self.options.plate.upper()] if self.options.plate else []

    def close(self) -> None:
        pass


# --- simulation ---------------------------------------------------------------------------

SIM_GPIO = GpioConfig(illuminator_mode="off", trigger_pin=17, tamper_pin=27, led_pin=22,
                      input_bounce_s=0.01)
SIM_JIG = {"trigger": 23, "tamper": 24, "led": 25}
SIM_CAMERA = CameraConfig(source="synthetic", width=640, height=360, fps=30.0)


@dataclass
class SimFaults:
    """Fault knobs of the simulated rig, each a real field failure."""

    black: bool = False  # lens cap on / sensor dead
    blur: bool = False  # lens out of focus
    ir_gain: float = 2.5  # how much IR lights the scene; 0 = dead IR LEDs
    cut_wires: tuple[str, ...] = ()  # jig wires not connected: "trigger", "tamper", "led"
    fps_scale: float = 1.0  # sensor frame clock vs camera.fps; 0.5 = a sensor at half rate
    drop_every: int = 0  # every Nth frame lost inside the camera (sequence gap)
    cpu_temp_c: float | None = 55.0  # simulated CPU sensor


def _loopback_pin_class():
    from gpiozero.pins.mock import MockPWMPin

    class LoopbackPin(MockPWMPin):
        """An output pin wired to an input pin: its level drives the input (a jig wire).

        Released (input, or closed), it stops driving and the input's pull resistor wins,
        as on a real board.
        """

        def __init__(self, factory, info, input_pin=None):
            super().__init__(factory, info)
            self.input_pin = input_pin
            self._claiming = False

        def output_with_state(self, state):
            # Atomic on a real board (lgpio claims the line with its level): no glitch.
            self._claiming = True
            try:
                super().output_with_state(state)
            finally:
                self._claiming = False
            self._drive_target()

        def _drive_target(self) -> None:
            t = self.input_pin
            if t is None or self._claiming or t.function != "input":
                return
            if self._function == "output":
                level = bool(self._state)
            elif t.pull in ("up", "down"):
                level = t.pull == "up"
            else:
                return
            if level != bool(t.state):
                t.drive_high() if level else t.drive_low()

        def _set_function(self, value):
            super()._set_function(value)
            self._drive_target()

        def _change_state(self, value):
            changed = super()._change_state(value)
            self._drive_target()
            return changed

        def close(self):
            target, self.input_pin = self.input_pin, None
            try:
                super().close()  # MockPWMPin writes 0 on the way out: not onto the wire
            finally:
                self.input_pin = target
                self._drive_target()

    return LoopbackPin


class SimCamera:
    """The synthetic scene through a fake sensor: IR on the illuminator pin brightens it.

    With `frame_period` the frames carry the sensor's own frame clock (seq x period from
    open) instead of the time they were drawn, so the fps a test measures is the sensor's,
    not how busy the machine running the simulation is.
    """

    name = "sim-camera"

    def __init__(self, inner, ir_duty: Callable[[], float], faults: SimFaults,
                 frame_period: float | None = None):
        self.inner, self._ir_duty, self.faults = inner, ir_duty, faults
        self.frame_period = frame_period
        self.last_frame = None
        self._t0 = (0.0, 0.0)

    def open(self) -> None:
        self.inner.open()
        self._t0 = (time.monotonic(), time.time())

    def close(self) -> None:
        self.inner.close()

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def notify_ir_change(self) -> None:
        """The fake light changes instantly, so no frame needs flushing."""

    def ground_truth(self) -> list[dict]:
        return self.inner.ground_truth()

    def read(self):
        frame = self.inner.read()
        duty = self._ir_duty()
        f = self.faults
        alpha, beta = (0.0, 0.0) if f.black else (1.0 + f.ir_gain * duty, 25.0 * f.ir_gain * duty)
        frame.image = cv2.convertScaleAbs(frame.image, alpha=alpha, beta=beta)
        if f.blur and not f.black:
            frame.image = cv2.GaussianBlur(frame.image, (0, 0), 6)
        if frame.lores is not None:
            frame.lores = cv2.convertScaleAbs(frame.lores, alpha=alpha, beta=beta)
        frame.ir_on = duty > 0
        if self.frame_period:
            frame.mono_time = self._t0[0] + frame.seq * self.frame_period
            frame.wall_time = self._t0[1] + frame.seq * self.frame_period
        self.last_frame = frame
        return frame


class SimRig:
    """Fakes with the hardware's rules; `recognizer_factory` injects a recognizer for tests."""

    simulate = True

    def __init__(self, options: Options | None = None, *, faults: SimFaults | None = None,
                 config: AlprConfig | None = None,
                 recognizer_factory: Callable[[SimRig], tuple] | None = None):
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        self.options = options or Options()
        self.faults = faults or SimFaults()
        self.config = config or AlprConfig(camera=SIM_CAMERA, gpio=SIM_GPIO)
        self._recognizer_factory = recognizer_factory
        self.factory = MockFactory(pin_class=MockPWMPin)
        self._wire_jig()
        self.cameras: list[SimCamera] = []

    def _wire_jig(self) -> None:
        """Create the jig wires before any device claims the pins."""
        loopback, g = _loopback_pin_class(), self.config.gpio
        wires = {"trigger": (self.jig_pin("trigger"), g.trigger_pin),
                 "tamper": (self.jig_pin("tamper"), g.tamper_pin),
                 "led": (g.led_pin, self.jig_pin("led"))}  # the LED pin drives the sense pin
        for role, (out_pin, in_pin) in wires.items():
            if out_pin is None or in_pin is None:
                continue
            target = None if role in self.faults.cut_wires else self.factory.pin(in_pin)
            self.factory.pin(out_pin, pin_class=loopback, input_pin=target)

    def jig_pin(self, role: str) -> int | None:
        """The jig pin for `role`: the one given, else the simulated jig's."""
        pin = self.options.jig_pin(role)
        return SIM_JIG[role] if pin is None else pin

    def camera(self, purpose: str) -> SimCamera:
        from appliance.sources import Faults
        from appliance.sources.synthetic import SyntheticSource

        cam, f = self.config.camera, self.faults
        inner = SyntheticSource(cam.width, cam.height, cam.fps, seed=cam.synthetic_seed,
                                night=purpose == "illuminator", pace=False,
                                lores_size=(cam.lores_width, cam.lores_height),
                                exposure_us=cam.exposure_us, analogue_gain=cam.analogue_gain,
                                faults=Faults(drop_every=f.drop_every))
        period = 1.0 / (cam.fps * f.fps_scale) if purpose == "camera" else None
        camera = SimCamera(inner, self._ir_duty, f, frame_period=period)
        self.cameras.append(camera)
        return camera

    def _ir_duty(self) -> float:
        pin = self.factory.pin(self.config.gpio.illuminator_pin)
        return float(pin.state) if pin.function == "output" else 0.0

    def pin_factory(self):
        return self.factory

    def cpu_temp_c(self) -> float | None:
        return self.faults.cpu_temp_c

    def recognizer(self):
        if self._recognizer_factory is not None:
            return self._recognizer_factory(self)
        return load_recognizer(self.config)

    def expected_plates(self, source) -> list[str]:
        """Plates fully visible in at least 3 frames: a fair chance for any reader."""
        return [t["text"] for t in source.ground_truth() if t["frames_visible"] >= 3]

    def close(self) -> None:
        self.factory.reset()
