"""Plate detection and reading: model runtime, detector, OCR, tracker. Never imports appliance."""
