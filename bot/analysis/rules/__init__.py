"""Detectors, one small module per theme, and the registry of rule ids, names, severities."""

from __future__ import annotations

from bot.analysis.rules.api_rules import DETECTORS as _API
from bot.analysis.rules.base import Detector, Hit
from bot.analysis.rules.global_rules import DETECTORS as _GLOBAL
from bot.analysis.rules.heap_type_rules import DETECTORS as _HEAP
from bot.analysis.rules.module_rules import DETECTORS as _MODULE
from bot.analysis.rules.registry import RULES, RULES_BY_NAME, RuleMeta, lookup
from bot.analysis.rules.type_rules import DETECTORS as _TYPE

ALL_DETECTORS: tuple[Detector, ...] = (*_MODULE, *_TYPE, *_HEAP, *_GLOBAL, *_API)

__all__ = ["ALL_DETECTORS", "RULES", "RULES_BY_NAME", "Detector", "Hit", "RuleMeta", "lookup"]
