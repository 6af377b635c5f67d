"""Unit identity and keys, agency enrolment, trust anchors, signed updates, zeroisation."""
