"""Field and hardware-in-the-loop checks; each runs on a Pi and with --simulate on fakes."""
