"""Ready-made emulator states: ``demo`` (an installed App and a small CPython-like repository)."""

from __future__ import annotations

from .core import EmulatorCore
from .state import AppRecord

DEMO_REPO = "python/cpython"

_SPAM_C = b"""\
#include "Python.h"

static PyObject *spam_error;

static PyMethodDef spam_methods[] = {
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef spammodule = {
    PyModuleDef_HEAD_INIT, "spam", NULL, -1, spam_methods
};

PyMODINIT_FUNC
PyInit_spam(void)
{
    PyObject *m = PyModule_Create(&spammodule);
    if (m == NULL) {
        return NULL;
    }
    spam_error = PyErr_NewException("spam.error", NULL, NULL);
    return m;
}
"""


def seed_demo(emu: EmulatorCore, slug: str = "isolation-bot") -> tuple[AppRecord, int]:
    """An App installed on python/cpython, a main branch with one module, people with roles."""
    app = emu.register_app(slug=slug)
    emu.create_repo(DEMO_REPO, default_branch="main")
    emu.commit(
        DEMO_REPO,
        "main",
        {"Modules/spammodule.c": _SPAM_C, "README.rst": b"This is a demo CPython.\n"},
        message="Initial commit",
        author="guido",
    )
    inst_id = emu.install(app, account="python")
    emu.set_permission(DEMO_REPO, "guido", "admin")
    emu.set_permission(DEMO_REPO, "core-dev", "write")
    emu.set_permission(DEMO_REPO, "triager", "triage")
    emu.add_user("contributor")
    return app, inst_id


SEEDS = {"demo": seed_demo}
