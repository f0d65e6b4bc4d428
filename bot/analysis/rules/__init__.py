"""The detectors: one per rule, named after it, declaring only the id it emits.

Grouped by theme in small modules. Two rules are reported elsewhere: ISO900 (a suppression
without a reason) by the analyser from the suppression comments, and ISO003 also by the tree
pass for modules whose slot table is in another file. Where detectors could report the same
variable, static_state.PRECEDENCE decides.
"""

from __future__ import annotations

from bot.analysis.rules.api_rules import DETECTORS as _API
from bot.analysis.rules.base import Detector, Hit
from bot.analysis.rules.global_rules import DETECTORS as _GLOBAL
from bot.analysis.rules.heap_type_rules import DETECTORS as _HEAP
from bot.analysis.rules.module_rules import DETECTORS as _MODULE
from bot.analysis.rules.type_rules import DETECTORS as _TYPE

ALL_DETECTORS: tuple[Detector, ...] = (*_MODULE, *_TYPE, *_HEAP, *_GLOBAL, *_API)

__all__ = ["ALL_DETECTORS", "Detector", "Hit"]
