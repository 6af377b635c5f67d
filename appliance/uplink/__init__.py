"""Signed uplink to the agency server: batches, push client, pull endpoint, reference receiver.

`appliance.uplink.verify` is the stand-alone verification library (docs/uplink.md).
"""
