"""Path classification: a pure function of the path (relative, `/` separators).

Mirrors the EXCLUDED list of CPython's Tools/c-analyzer/cpython/_parser.py: generated code,
vendored libraries and data tables are never reported; test and demo modules and the static
builtin types of Objects/ and Python/ are downgraded to info.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Each pattern is matched against the whole path with a "/" prefix, so "Modules/x" also
# matches when the scanned root is above the CPython checkout.
_GENERATED = re.compile(
    r"(\.c\.h$|/clinic/|/Python/bytecodes\.c$|/Python/optimizer_bytecodes\.c$"
    r"|/Python/deepfreeze/|/Python/frozen_modules/|/Python/generated_cases\.c\.h$"
    # Generated tables listed in 3.11's c-analyzer EXCLUDED (computed-goto targets, the
    # stdlib module name list); later versions still generate them.
    r"|/Python/opcode_targets\.h$|/Python/stdlib_module_names\.h$)"
)
_VENDORED = re.compile(
    r"/Modules/(_decimal/libmpdec|expat|_hacl|_blake2/impl|_sha3/kcp|_ctypes/libffi[^/]*|zlib)/"
    r"|/Objects/mimalloc/|/Include/internal/mimalloc/"
)
_DATA_TABLES = re.compile(r"(_db\.h$|/cjkcodecs/mappings_[^/]*\.h$|/_ssl_data[^/]*\.h$)")
_TEST = re.compile(
    r"/Modules/(_test[^/]*|_testcapi/|_testinternalcapi/|_testlimitedcapi/|xx[^/]*|"
    r"_xxtestfuzz/|_ctypes/_ctypes_test[^/]*)"
)
# Third-party extension projects: libraries copied in under a conventional folder name
# (pillow's src/thirdparty/, ujson's deps/) and the pythoncapi-compat header many projects
# vendor (its function statics are compatibility shims for old Pythons, not the project's).
_VENDORED_ELSEWHERE = re.compile(
    r"/(third_party|thirdparty|3rdparty|vendor|vendored|_vendor|deps|external)/"
    r"|/pythoncapi_compat\.h$"
)
# Test and demo code of extension projects: a folder named test/tests/testing (greenlet's
# src/greenlet/tests/_test_extension.c) or demo/examples (cffi's demo/). Only a whole path
# component counts: "test" inside a name (pytest_ext/, _testcapi.c) is not a folder of tests.
_TEST_DIR = re.compile(r"/(test|tests|testing|demo|demos|example|examples)/")
_BUILTIN_AREA = re.compile(r"(^|/)(Objects|Python)/")
# CPython's own source folders: where CPython's path rules apply. Elsewhere the file belongs to
# an extension project (bot.analysis.analyzer relaxes the rules for its plain C library code).
_CPYTHON_AREA = re.compile(r"(^|/)(Modules|Objects|Python|PC|Include|Parser)/")
# C and C++ sources (C++ extensions: greenlet's .cpp/.hpp, PC/_wmimodule.cpp); tree-sitter-c
# reads C++ partially, the regex fallbacks find inits and definitions there.
SOURCE_SUFFIXES = (".c", ".h", ".cpp", ".cc", ".cxx", ".hpp", ".hh")


@dataclass(frozen=True, slots=True)
class PathClass:
    excluded: str | None  # why the file is never reported, or None
    is_test: bool  # test or demo module code: findings downgraded to info
    builtin_area: bool  # Objects/ or Python/: static builtin types are info
    cpython_area: bool = True  # under a CPython source folder (else: an extension project)


@lru_cache(maxsize=4096)
def classify_path(path: str) -> PathClass:
    p = "/" + path.replace("\\", "/").lstrip("./")
    excluded: str | None = None
    if _GENERATED.search(p):
        excluded = "generated code"
    elif _VENDORED.search(p):
        excluded = "vendored code"
    elif _DATA_TABLES.search(p):
        excluded = "data table"
    cpython_area = bool(_CPYTHON_AREA.search(p))
    if excluded is None and not cpython_area and _VENDORED_ELSEWHERE.search(p):
        excluded = "vendored code"
    return PathClass(
        excluded=excluded,
        is_test=bool(_TEST.search(p) or (not cpython_area and _TEST_DIR.search(p))),
        builtin_area=bool(_BUILTIN_AREA.search(p)),
        cpython_area=cpython_area,
    )


def is_test_module_name(name: str) -> bool:
    """Test and demo modules by name (`_testcapi`, `xxsubtype`, `_ctypes_test`, ...)."""
    return name.startswith(("_test", "xx", "_xx")) or name == "_ctypes_test"
