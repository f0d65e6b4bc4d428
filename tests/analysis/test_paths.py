"""Path classification: excluded (never reported), test/demo (info), builtin area."""

from __future__ import annotations

import pytest

from bot.analysis import classify_path


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        ("Modules/clinic/_abc.c.h", "generated code"),
        ("Objects/stringlib/clinic/transmogrify.h.h", "generated code"),
        ("Python/bytecodes.c", "generated code"),
        ("Python/deepfreeze/deepfreeze.c", "generated code"),
        ("Python/frozen_modules/importlib._bootstrap.h", "generated code"),
        ("Modules/_decimal/libmpdec/mpdecimal.c", "vendored code"),
        ("Modules/expat/xmlparse.c", "vendored code"),
        ("Modules/_hacl/Hacl_Hash_SHA2.c", "vendored code"),
        ("Modules/_blake2/impl/blake2b.c", "vendored code"),
        ("Modules/_ctypes/libffi_osx/ffi.c", "vendored code"),
        ("Modules/zlib/deflate.c", "vendored code"),
        ("Objects/mimalloc/alloc.c", "vendored code"),
        ("Modules/unicodedata_db.h", "data table"),
        ("Modules/cjkcodecs/mappings_jp.h", "data table"),
        ("Modules/_ssl_data_300.h", "data table"),
        ("Modules/_decimal/_decimal.c", None),
        ("Modules/cjkcodecs/_codecs_jp.c", None),
        ("src/ext/module.c", None),
    ],
)
def test_excluded_paths(path: str, excluded: str | None) -> None:
    assert classify_path(path).excluded == excluded
    # The same, below a prefix (the scan root above the checkout) or with "./".
    assert classify_path("cpython/" + path).excluded == excluded
    assert classify_path("./" + path).excluded == excluded


@pytest.mark.parametrize(
    ("path", "is_test", "builtin"),
    [
        ("Modules/_testcapimodule.c", True, False),
        ("Modules/_testcapi/heaptype.c", True, False),
        ("Modules/_testinternalcapi/pytime.c", True, False),
        ("Modules/_testlimitedcapi/list.c", True, False),
        ("Modules/xxsubtype.c", True, False),
        ("Modules/_xxtestfuzz/fuzzer.c", True, False),
        ("Modules/_ctypes/_ctypes_test.c", True, False),
        ("Modules/_testmultiphase.c", True, False),
        ("Modules/_ctypes/_ctypes.c", False, False),
        ("Modules/textio.c", False, False),
        ("Objects/listobject.c", False, True),
        ("Python/sysmodule.c", False, True),
        ("Modules\\\\_io\\\\fileio.c".replace("\\\\", "\\"), False, False),
    ],
)
def test_test_and_builtin_areas(path: str, is_test: bool, builtin: bool) -> None:
    c = classify_path(path)
    assert (c.is_test, c.builtin_area, c.excluded) == (is_test, builtin, None)
