"""Structure of a C file from tree-sitter-c: functions and declarations, every `#if` branch.

Only what the detectors need is extracted, into plain records. Declarations lost to ERROR
nodes are still read (tree-sitter nests the recovered nodes inside the ERROR); declarations
that only *look* file-scope because an `#ifdef` split a function header are rejected by the
caller with the brace-depth check of bot.analysis.source.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import tree_sitter_c
from tree_sitter import Language, Node, Parser

from bot.analysis.deadline import UNLIMITED, AnalysisTimeout, Deadline

_CONTAINERS = frozenset(
    {
        "translation_unit",
        "preproc_if",
        "preproc_ifdef",
        "preproc_else",
        "preproc_elif",
        "preproc_elifdef",
        "linkage_specification",
        "declaration_list",
        "ERROR",
    }
)


@lru_cache(maxsize=1)
def _language() -> Language:
    return Language(tree_sitter_c.language())


def _parser() -> Parser:
    # A new parser per parse (creating one costs well under a microsecond): analyses run in
    # several threads at once (the PR check's executor), and a tree-sitter parser is not safe
    # to share between threads, nor to reuse after a parse halted by the progress callback.
    return Parser(_language())


_READ_CHUNK = 1 << 20  # bytes handed to tree-sitter per read callback


def _parse_tree(text: bytes, deadline: Deadline) -> Node:
    """tree-sitter's parse, halted by its progress callback once ``deadline`` has passed.

    tree-sitter ignores the progress callback when given a bytestring, so with a deadline the
    text is handed over in chunks by a read callback (same result, ~10% slower on big files).
    """
    parser = _parser()
    if deadline.seconds is None:
        return parser.parse(text).root_node

    # py-tree-sitter (0.26.1) keeps a reference to every object the read callback returns,
    # for ever: returning slices of ``text`` leaked every parsed file (a steady RSS climb of
    # a replica in bench/soak.py). So the callback refills and returns one bytearray, the only
    # object the binding ever holds, and empties it after the parse: what stays behind is an
    # empty bytearray per parse, not the file.
    buffer = bytearray()

    def read(offset: int, _point: tuple[int, int]) -> bytearray:
        buffer[:] = text[offset : offset + _READ_CHUNK]
        return buffer

    def progress(_offset: int, _has_error: bool) -> bool:
        return deadline.expired()

    try:
        tree = parser.parse(read, progress_callback=progress)
    except ValueError as exc:  # "Parsing failed": halted by the callback
        raise AnalysisTimeout(deadline.seconds, "parse") from exc
    finally:
        buffer.clear()
    return tree.root_node


@dataclass(slots=True)
class Declarator:
    name: str
    offset: int
    pointer: bool = False
    const_pointer: bool = False  # `* const`: the pointer itself cannot change
    array: bool = False
    function: bool = False  # a prototype, not a variable
    function_pointer: bool = False
    init_brace: int | None = None  # offset of `{` when initialised with a list
    init_text: str | None = None  # initialiser expression text otherwise


@dataclass(slots=True)
class Declaration:
    start: int
    end: int
    storage: frozenset[str]
    const: bool  # a `const` qualifier on the declared type
    type_text: str
    declarators: list[Declarator]
    in_error: bool = False


@dataclass(slots=True)
class Function:
    name: str
    start: int
    body_start: int
    end: int
    type_text: str


@dataclass(slots=True)
class ParsedFile:
    functions: list[Function]
    top_level: list[Declaration]  # file-scope candidates (depth to be checked by the caller)
    error_nodes: int
    root: Node
    data: bytes


def _text(data: bytes, node: Node) -> str:
    return data[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _declarator(data: bytes, node: Node) -> Declarator | None:
    d = Declarator(name="", offset=node.start_byte)
    cur: Node | None = node
    first_pointer = True
    while cur is not None:
        t = cur.type
        if t == "init_declarator":
            value = cur.child_by_field_name("value")
            if value is not None:
                if value.type == "initializer_list":
                    d.init_brace = value.start_byte
                else:
                    d.init_text = _text(data, value)
            cur = cur.child_by_field_name("declarator")
        elif t == "pointer_declarator":
            d.pointer = True
            if first_pointer:
                d.const_pointer = any(
                    c.type == "type_qualifier" and _text(data, c) == "const" for c in cur.children
                )
                first_pointer = False
            cur = cur.child_by_field_name("declarator")
        elif t == "array_declarator":
            d.array = True
            cur = cur.child_by_field_name("declarator")
        elif t == "function_declarator":
            inner = cur.child_by_field_name("declarator")
            if inner is not None and inner.type == "parenthesized_declarator":
                d.function_pointer = True
            else:
                d.function = True
            cur = inner
        elif t in ("parenthesized_declarator", "attributed_declarator"):
            cur = next(
                (
                    c
                    for c in cur.named_children
                    if c.type.endswith("declarator") or c.type == "identifier"
                ),
                None,
            )
        elif t in ("identifier", "field_identifier", "type_identifier"):
            d.name = _text(data, cur)
            d.offset = cur.start_byte
            return d
        else:
            return None
    return None


def _declaration(data: bytes, node: Node, in_error: bool) -> Declaration | None:
    storage: set[str] = set()
    const = False
    type_text = ""
    declarators: list[Declarator] = []
    for child in node.children:
        t = child.type
        if t == "storage_class_specifier":
            storage.add(_text(data, child))
        elif t == "type_qualifier" and _text(data, child) == "const":
            const = True
    type_node = node.child_by_field_name("type")
    if type_node is None:
        return None
    type_text = " ".join(_text(data, type_node).split())
    for child in node.children_by_field_name("declarator"):
        d = _declarator(data, child)
        if d is not None and d.name:
            declarators.append(d)
    if not declarators:
        return None
    return Declaration(
        start=node.start_byte,
        end=node.end_byte,
        storage=frozenset(storage),
        const=const,
        type_text=type_text,
        declarators=declarators,
        in_error=in_error,
    )


def _function(data: bytes, node: Node) -> Function | None:
    body = node.child_by_field_name("body")
    decl = node.child_by_field_name("declarator")
    if body is None or decl is None:
        return None
    # Walk down to the function_declarator (possibly under pointer declarators), then to
    # the name. Runs for every function of every file: keep it to field lookups.
    cur: Node | None = decl
    while cur is not None and cur.type != "function_declarator":
        cur = cur.child_by_field_name("declarator")
    if cur is None:
        return None
    name_node = cur.child_by_field_name("declarator")
    while name_node is not None and name_node.type != "identifier":
        name_node = name_node.child_by_field_name("declarator")
    if name_node is None:
        return None
    type_node = node.child_by_field_name("type")
    return Function(
        name=data[name_node.start_byte : name_node.end_byte].decode("utf-8", "replace"),
        start=node.start_byte,
        body_start=body.start_byte,
        end=node.end_byte,
        type_text=_text(data, type_node) if type_node is not None else "",
    )


def parse(data: bytes, skeleton: bytes | None = None, deadline: Deadline = UNLIMITED) -> ParsedFile:
    """Parse `skeleton` (same offsets as `data`, bodies blanked) or `data`; text from `data`.

    Raises AnalysisTimeout when ``deadline`` passes during the parse."""
    root = _parse_tree(skeleton if skeleton is not None else data, deadline)
    functions: list[Function] = []
    top_level: list[Declaration] = []
    errors = 0
    # Only file-scope nodes are walked (and the containers they hide in): cheap even on
    # 300 kB files; function-level statics are looked up by offset (declaration_at).
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, in_error = stack.pop()
        if len(top_level) + len(functions) > 4096 and deadline.expired():
            raise AnalysisTimeout(deadline.seconds or 0.0, "parse")
        for child in node.children:
            t = child.type
            if t == "declaration":
                d = _declaration(data, child, in_error)
                if d is not None:
                    top_level.append(d)
            elif t == "function_definition":
                f = _function(data, child)
                if f is not None:
                    functions.append(f)
            elif t in _CONTAINERS:
                if t == "ERROR":
                    errors += 1
                stack.append((child, in_error or t == "ERROR"))
    top_level.sort(key=lambda d: d.start)
    functions.sort(key=lambda f: f.start)
    return ParsedFile(functions, top_level, errors, root, data)


def declaration_at(parsed: ParsedFile, offset: int) -> Declaration | None:
    """The declaration containing the byte at `offset` (a `static` keyword in a function)."""
    node: Node | None = parsed.root.descendant_for_byte_range(offset, offset + 1)
    while node is not None and node.type not in (
        "declaration",
        "function_definition",
        "translation_unit",
    ):
        node = node.parent
    if node is None or node.type != "declaration":
        return None
    parent = node.parent
    return _declaration(parsed.data, node, parent is not None and parent.type == "ERROR")


def statement_declaration(data: bytes, start: int, end: int) -> Declaration | None:
    """Parse `data[start:end]` (one statement, e.g. a function-level `static ...;`) alone.

    Only a declaration that starts the snippet counts (not one after a function definition).
    """
    snippet = data[start:end]
    node = _parser().parse(snippet).root_node
    for _ in range(4):
        first = next((c for c in node.named_children if c.type != "comment"), None)
        if first is None:
            return None
        if first.type == "declaration":
            d = _declaration(snippet, first, node.type == "ERROR")
            return _shifted(d, start) if d is not None else None
        if first.type != "ERROR":
            return None
        node = first
    return None


def _shifted(d: Declaration, delta: int) -> Declaration:
    for v in d.declarators:
        v.offset += delta
        if v.init_brace is not None:
            v.init_brace += delta
    d.start += delta
    d.end += delta
    return d
