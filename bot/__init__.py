"""isolation-bot: tracks CPython's subinterpreter-isolation effort."""

__version__ = "0.1.0"
