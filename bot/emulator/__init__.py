"""A stateful GitHub emulator (REST + signed webhooks) validated against GitHub's OpenAPI
description: the tests' GitHub, and the demo's. See GitHubEmulator.

Self-contained: it imports nothing from the bot (relative imports only), so it could live
outside the package. Modules import one way: serving -> server -> core -> shapes -> state.
Validation needs the ``emulator`` extra (openapi-core); see validation.require()."""

from .core import EmulatorCore, EmulatorError, RequestRecord
from .faults import Fault, FaultSet
from .serving import GitHubEmulator
from .state import AppRecord
from .validation import ValidationUnavailable
from .webhooks import Delivery

__all__ = [
    "AppRecord",
    "Delivery",
    "EmulatorCore",
    "EmulatorError",
    "Fault",
    "FaultSet",
    "GitHubEmulator",
    "RequestRecord",
    "ValidationUnavailable",
]
