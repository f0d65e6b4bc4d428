"""Maintenance scripts for the emulator's vendored data (not imported at run time)."""
