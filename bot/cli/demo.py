"""`isolation-bot demo`: the whole product on loopback, no credentials needed.

Starts the GitHub emulator and the bot (a temporary SQLite store), sets up a repository whose
main branch holds a small single-phase C module with a static type, opens a pull request that
converts it to heap types and multi-phase init with a per-interpreter GIL slot, but also adds
a process-wide static PyObject cache (the regression), waits for the bot's check run, and
prints the check run, the status comment and the labels.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

REPO = "python/cpython"
MODULE_PATH = "Modules/_countermodule.c"

BASE_SOURCE = """\
#include "Python.h"

typedef struct {
    PyObject_HEAD
    long value;
} CounterObject;

static PyObject *
counter_increment(CounterObject *self, PyObject *Py_UNUSED(ignored))
{
    self->value++;
    return PyLong_FromLong(self->value);
}

static PyMethodDef counter_methods[] = {
    {"increment", (PyCFunction)counter_increment, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}
};

static PyTypeObject CounterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_counter.Counter",
    .tp_basicsize = sizeof(CounterObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_methods = counter_methods,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef countermodule = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_counter",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__counter(void)
{
    if (PyType_Ready(&CounterType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&countermodule);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "Counter", (PyObject *)&CounterType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
"""
HEAD_SOURCE = """\
#include "Python.h"

typedef struct {
    PyObject_HEAD
    long value;
} CounterObject;

typedef struct {
    PyObject *counter_type;
} counter_state;

/* The regression: a process-wide cache shared by every interpreter. */
static PyObject *last_result = NULL;

static PyObject *
counter_increment(CounterObject *self, PyObject *Py_UNUSED(ignored))
{
    self->value++;
    Py_XSETREF(last_result, PyLong_FromLong(self->value));
    return Py_XNewRef(last_result);
}

static int
counter_traverse(CounterObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static void
counter_dealloc(CounterObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyMethodDef counter_methods[] = {
    {"increment", (PyCFunction)counter_increment, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}
};

static PyType_Slot counter_slots[] = {
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_methods, counter_methods},
    {Py_tp_traverse, counter_traverse},
    {Py_tp_dealloc, counter_dealloc},
    {0, NULL},
};

static PyType_Spec counter_spec = {
    .name = "_counter.Counter",
    .basicsize = sizeof(CounterObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = counter_slots,
};

static int
counter_exec(PyObject *m)
{
    counter_state *state = PyModule_GetState(m);
    state->counter_type = PyType_FromModuleAndSpec(m, &counter_spec, NULL);
    if (state->counter_type == NULL) {
        return -1;
    }
    return PyModule_AddObjectRef(m, "Counter", state->counter_type);
}

static int
counter_mod_traverse(PyObject *m, visitproc visit, void *arg)
{
    counter_state *state = PyModule_GetState(m);
    Py_VISIT(state->counter_type);
    return 0;
}

static int
counter_mod_clear(PyObject *m)
{
    counter_state *state = PyModule_GetState(m);
    Py_CLEAR(state->counter_type);
    return 0;
}

static PyModuleDef_Slot counter_module_slots[] = {
    {Py_mod_exec, counter_exec},
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
    {0, NULL},
};

static struct PyModuleDef countermodule = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_counter",
    .m_size = sizeof(counter_state),
    .m_slots = counter_module_slots,
    .m_traverse = counter_mod_traverse,
    .m_clear = counter_mod_clear,
};

PyMODINIT_FUNC
PyInit__counter(void)
{
    return PyModuleDef_Init(&countermodule);
}
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the bot against a local GitHub emulator and show what it reports on a PR",
        description="Start the GitHub emulator and the bot on loopback (no credentials), open "
        "a realistic pull request, and print the check run, the comment and the labels.",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (30)")
    parser.add_argument("--verbose", action="store_true", help="show the bot's logs")
    parser.set_defaults(handler=run)


def _section(title: str) -> str:
    return f"\n=== {title} " + "=" * max(0, 66 - len(title))


async def run_demo(timeout: float = 30.0, *, out: Any = print) -> int:
    """Run the demo; returns 0 when the bot reported, 1 otherwise. CLIError when the
    emulator's OpenAPI checks (the package's ``emulator`` extra) are not installed."""
    from bot.cli.errors import CLIError
    from bot.emulator import GitHubEmulator, ValidationUnavailable
    from bot.service.local import bot_on_emulator, until

    started = time.monotonic()
    try:
        emu = GitHubEmulator()
    except ValidationUnavailable as exc:
        raise CLIError(f"the demo's GitHub emulator cannot start: {exc}") from None
    app = emu.register_app("isolation-bot", owner="python")
    emu.create_repo(REPO)
    emu.commit(
        REPO,
        "main",
        {MODULE_PATH: BASE_SOURCE, "README.rst": "CPython (demo)\n"},
        message="Add the _counter module",
    )
    emu.install(app, "python")
    with tempfile.TemporaryDirectory(prefix="isolation-bot-demo-") as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'demo.sqlite3'}"
        # Links in the comment point at the emulator, which serves the files too.
        async with bot_on_emulator(
            emu, app, database_url, workers=2, html_url=lambda api_url: api_url
        ) as bot:
            out(f"GitHub emulator: {bot.api_url}    bot: {bot.url}")
            emu.create_branch(REPO, "counter-isolation")
            head = emu.commit(
                REPO,
                "counter-isolation",
                {MODULE_PATH: HEAD_SOURCE},
                message="gh-0000: Isolate the _counter module",
                author="contributor",
            )
            number = emu.open_pull_request(
                REPO,
                "counter-isolation",
                title="gh-0000: Isolate the _counter module (heap types, multi-phase init)",
                user="contributor",
            )
            out(f"Opened {REPO}#{number} at {head[:12]}; waiting for the bot ...")

            def done() -> bool:
                runs = emu.check_runs(REPO, head)
                return (
                    bool(runs)
                    and runs[-1]["status"] == "completed"
                    and bool(emu.issue_comments(REPO, number))
                )

            try:
                ok = await until(done, timeout, interval=0.05)
            except TimeoutError:
                ok = False
    elapsed = time.monotonic() - started
    if not ok:
        out(f"The bot did not report within {timeout:.0f} s.")
        return 1
    run = emu.check_runs(REPO, head)[-1]
    out(_section(f"check run '{run['name']}' on {head[:12]}"))
    out(f"status: {run['status']}   conclusion: {run['conclusion']}")
    out(f"title: {run['output']['title']}")
    out(textwrap.indent(run["output"]["summary"].rstrip(), "  "))
    for a in run.get("annotations", []):
        out(
            f"  annotation {a['path']}:{a['start_line']} [{a['annotation_level']}] "
            f"{a.get('title', '')}"
        )
    comments = emu.issue_comments(REPO, number)
    out(_section(f"comment by {comments[0]['user']['login']}"))
    out(comments[0]["body"].rstrip())
    out(_section("labels"))
    out(", ".join(emu.labels_on(REPO, number)) or "(none)")
    out(f"\nDone in {elapsed:.1f} s; emulator validation errors: {len(emu.validation_errors)}")
    for err in emu.validation_errors[:5]:
        out(f"  {err}")
    return 0


async def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s %(message)s",
    )
    return await run_demo(args.timeout)
