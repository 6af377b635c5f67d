"""The real illuminator in CORE's capture loop, on an IR-responsive simulated camera."""

from appliance.capture import CaptureLoop
from appliance.config.capture import CaptureConfig
from appliance.config.model import AlprConfig
from appliance.gpio import build_devices
from hw_tests.rig import SIM_CAMERA, SIM_GPIO, SimRig
from inference.recognizer import NullRecognizer


class ListSink:
    def __init__(self):
        self.reads = []

    def put(self, read):
        self.reads.append(read)


def test_auto_ir_switches_on_once_in_the_dark_and_stays_on():
    """No dwell at all: only the IR-boost compensation keeps the light from flapping."""
    gpio = SIM_GPIO.model_copy(update={"illuminator_mode": "auto", "ir_min_dwell_s": 0.0})
    rig = SimRig(config=AlprConfig(camera=SIM_CAMERA, gpio=gpio))
    try:
        camera = rig.camera("illuminator")  # night scene, brightened by the IR pin's duty
        camera.open()
        with build_devices(gpio, pin_factory=rig.pin_factory()) as devices:
            loop = CaptureLoop(camera, NullRecognizer(), ListSink(), CaptureConfig(),
                               illuminator=devices.illuminator, cpu_temp=lambda: 55.0,
                               max_frames=40, illuminator_period_s=0)
            loop.start()
            assert loop.finished.wait(30)
            loop.stop()
            ill = devices.illuminator
            assert ill.is_on and ill.switches == 1
            state = ill.state()
            assert state["light_level"] > gpio.ir_off_above  # IR lifts the scene above "day"
            assert state["ambient_level"] < gpio.ir_on_below  # ... but it is still night
            pin = rig.factory.pin(gpio.illuminator_pin)
            assert [s.state for s in pin.states] == [0.0, 0.8]
            assert camera.last_frame.ir_on
        camera.close()
    finally:
        rig.close()
