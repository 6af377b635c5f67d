"""Shared fixtures. Tests write only under tmp_path and never touch ../shared/data."""

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin


@pytest.fixture
def factory():
    """A gpiozero MockFactory (PWM-capable pins) to inject; reset after the test (pins leak
    otherwise). The GPIO device tests, which set Device.pin_factory, define their own."""
    factory = MockFactory(pin_class=MockPWMPin)
    yield factory
    factory.reset()
    Device.pin_factory = None
