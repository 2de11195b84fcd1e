"""Safe YAML with positions: every value keeps the file, line and column it came from.

Only the core schema is accepted (maps, sequences, strings, numbers, booleans, null, timestamps): no custom
tags, no merge keys. Duplicate keys, oversized or deep documents and alias bombs are refused with a message
naming the place and the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from aifactory.errors import Location, UserError

MAX_BYTES = 1 << 20  # 1 MiB: the largest reference blueprint is a few KiB
MAX_DEPTH = 48
MAX_VALUES = 100_000  # counts values after alias expansion: stops "billion laughs"
MAX_SCALAR_CHARS = 65_536
_CORE = "tag:yaml.org,2002:"
# libyaml's parser when PyYAML was built with it: composing in pure Python was most of `validate`'s run time.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALAR_TAGS = {f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}


@dataclass(slots=True)
class YNode:
    """A parsed value with its position; `value` is dict[str, YNode], list[YNode] or a scalar."""

    value: Any
    loc: Location


def _mark(file: str, node: Node) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.count = 0
        self.scalars = yaml.constructor.SafeConstructor()

    def build(self, node: Node, depth: int = 0) -> YNode:
        loc = _mark(self.file, node)
        self.count += 1
        if self.count > MAX_VALUES:
            raise UserError.at(loc, f"document expands to more than {MAX_VALUES} values (alias bomb?)",
                               "remove the repeated aliases (*name); write the values out or use `extends:`")
        if depth > MAX_DEPTH:
            raise UserError.at(loc, f"document nests deeper than {MAX_DEPTH} levels (or an alias refers to itself)",
                               "flatten the structure; an alias must not point at its own ancestor")
        if isinstance(node, MappingNode):
            return YNode(self._mapping(node, depth), loc)
        if isinstance(node, SequenceNode):
            self._check_tag(node, f"{_CORE}seq", loc)
            return YNode([self.build(item, depth + 1) for item in node.value], loc)
        assert isinstance(node, ScalarNode)
        return YNode(self._scalar(node, loc), loc)

    def _check_tag(self, node: Node, expected: str, loc: Location) -> None:
        if node.tag != expected:
            raise UserError.at(loc, f"YAML tag {node.tag!r} is not allowed",
                               "blueprints use plain YAML values only; remove the '!' tag")

    def _mapping(self, node: MappingNode, depth: int) -> dict[str, YNode]:
        loc = _mark(self.file, node)
        self._check_tag(node, f"{_CORE}map", loc)
        out: dict[str, YNode] = {}
        for key_node, value_node in node.value:
            key_loc = _mark(self.file, key_node)
            if key_node.tag == f"{_CORE}merge":
                raise UserError.at(key_loc, "YAML merge keys ('<<') are not supported",
                                   "use `extends:` to build on another blueprint, or write the keys out")
            if not isinstance(key_node, ScalarNode) or key_node.tag != f"{_CORE}str":
                raise UserError.at(key_loc, "mapping keys must be plain strings",
                                   "quote the key, e.g. \"8\": instead of 8:")
            key = key_node.value
            if key in out:
                first = out[key].loc
                raise UserError.at(key_loc, f"duplicate key {key!r} (first defined at line {first.line})",
                                   "keep one of the two; later keys would silently win in other tools")
            # A finding about a value points at its key's line: that is the line a reviewer sees changed.
            out[key] = YNode(self.build(value_node, depth + 1).value, key_loc)
        return out

    def _scalar(self, node: ScalarNode, loc: Location) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self._check_tag(node, f"{_CORE}str", loc)
        if len(node.value) > MAX_SCALAR_CHARS:
            raise UserError.at(loc, f"value is longer than {MAX_SCALAR_CHARS} characters", "shorten it")
        value = self.scalars.construct_object(node, deep=True)
        if isinstance(value, float) and not math.isfinite(value):
            raise UserError.at(loc, f"number {node.value!r} is not finite", "write a finite number")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**18:
            raise UserError.at(loc, f"number {node.value} is too large", "use a value below 10^18 (or a unit)")
        return value


def parse_text(text: str, file: str) -> YNode:
    """Parse one YAML document from text."""
    try:
        _check_depth(text, file)  # before composing: libyaml's composer recurses in C and would crash
        nodes = list(yaml.compose_all(text, Loader=_LOADER))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        loc = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        what = err.problem or err.context or "syntax error"
        if err.problem and err.context and err.context_mark and err.context_mark is not mark:
            # e.g. an unclosed quote is found at the end of the file; say where it was opened
            what += f" ({err.context} at line {err.context_mark.line + 1})"
        raise UserError.at(loc, f"malformed YAML: {what}",
                           "check indentation, quoting and colons on this line") from None
    except yaml.YAMLError as err:
        raise UserError.at(Location(file), f"malformed YAML: {err}", "fix the YAML syntax") from None
    docs = [n for n in nodes if n is not None]
    if not docs:
        raise UserError.at(Location(file, 1), "the file is empty",
                           "start from a reference blueprint: `aifactory blueprints show NAME`")
    if len(docs) > 1:
        raise UserError.at(_mark(file, docs[1]), "the file holds more than one YAML document",
                           "keep one document per file (remove the '---' separators)")
    return _Builder(file).build(docs[0])


def _check_depth(text: str, file: str) -> None:
    """Refuse a document nested past MAX_DEPTH with the project's own message, whatever the parser's limits.

    Flow collections (`[[[...` on one line) are counted by the project's own scan before any parser runs:
    libyaml gives up at its own flow-nesting limit (PyYAML 6.0.4 and later) and its message would win. Block
    nesting, and the flow levels inside it, are then counted on the parser's flat event stream."""
    _check_flow_depth(text, file)
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            mark = event.start_mark
            if depth > MAX_DEPTH + 1 and mark is not None:  # +1: the builder counts the root as level 0
                _too_deep(file, mark.line + 1, mark.column + 1)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1


def _too_deep(file: str, line: int, column: int) -> None:
    raise UserError.at(Location(file, line, column), f"document nests deeper than {MAX_DEPTH} levels",
                       "flatten the structure; a blueprint needs a handful of levels")


def _check_flow_depth(text: str, file: str) -> None:
    """Count nested flow collections (`[`, `{`) outside quoted, plain and block scalars and comments.

    The scan never counts more levels than the document has, so a valid file is never refused by it; where
    it counts fewer (odd but valid YAML), the event walk that follows still sees every level."""
    scan = _FlowScan(text)
    while scan.pos < len(text):
        scan.block_line(file)


class _FlowScan:
    """A cursor over the text that reads block lines, and flow collections where a node starts with one."""

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.line, self.line_start = text, 0, 1, 0

    def _newline(self, at: int) -> None:
        self.pos, self.line, self.line_start = at + 1, self.line + 1, at + 1

    def block_line(self, file: str) -> None:
        """One line in block context: find where nodes start (after indentation, `- `, `? `, and `: `)."""
        text = self.text
        end = text.find("\n", self.pos)
        end = len(text) if end < 0 else end
        indent = len(text[self.pos:end]) - len(text[self.pos:end].lstrip(" "))
        i = self.pos + indent
        while i < end:
            c = text[i]
            if c in " \t":
                i += 1
            elif c in "-?" and (i + 1 == end or text[i + 1] in " \t"):
                i += 2
            elif c in "[{":
                self.pos = i
                self.flow(file)  # reads to the collection's end, across lines
                i, end = self.pos, self._line_end()
                if i >= end:
                    break
                i = self._after_value(i, end)
            elif c in "'\"":
                self.pos = i
                self.quoted()
                i, end = self.pos, self._line_end()
                if i >= end:
                    break
                i = self._after_value(i, end)
            elif c == "#":
                break
            elif c in "|>":
                self._skip_block_scalar(end, indent)
                return
            else:
                i = self._after_value(i, end)
        if end >= len(text):
            self.pos = len(text)
        else:
            self._newline(end)

    def _line_end(self) -> int:
        end = self.text.find("\n", self.pos)
        return len(self.text) if end < 0 else end

    def _after_value(self, i: int, end: int) -> int:
        """Skip a plain scalar (or a key) up to the `: ` that starts the next node, or the line's end."""
        text = self.text
        while i < end:
            c = text[i]
            if c == ":" and (i + 1 == end or text[i + 1] in " \t"):
                return i + 1
            if c == "#" and text[i - 1] in " \t":
                return end
            i += 1
        return end

    def _skip_block_scalar(self, end: int, indent: int) -> None:
        """Skip a block scalar's text: the lines after this one indented deeper than it, and blank lines."""
        text = self.text
        while True:
            if end >= len(text):
                self.pos = len(text)
                return
            self._newline(end)
            end = self._line_end()
            body = text[self.pos:end]
            if body.strip() and len(body) - len(body.lstrip(" ")) <= indent:
                return

    def quoted(self) -> None:
        """Skip a quoted scalar starting at pos (it may span lines); pos ends after its closing quote."""
        text, quote = self.text, self.text[self.pos]
        i = self.pos + 1
        while i < len(text):
            c = text[i]
            if c == "\n":
                self.line, self.line_start = self.line + 1, i + 1
            elif c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                if quote == "'" and text.startswith("''", i):
                    i += 1
                else:
                    self.pos = i + 1
                    return
            i += 1
        self.pos = len(text)

    def flow(self, file: str) -> None:
        """Read a flow collection starting at pos; pos ends after its closing bracket."""
        text, depth, at_node = self.text, 0, True
        i = self.pos
        while i < len(text):
            c = text[i]
            if c in "[{":
                depth += 1
                if depth > MAX_DEPTH + 1:
                    _too_deep(file, self.line, i - self.line_start + 1)
                at_node = True
            elif c in "]}":
                depth -= 1
                if depth == 0:
                    self.pos = i + 1
                    return
                at_node = False
            elif c in ",:":
                at_node = True
            elif c == "\n":
                self.line, self.line_start = self.line + 1, i + 1
            elif c == "#" and text[i - 1] in " \t\n":
                nl = text.find("\n", i)
                i = len(text) if nl < 0 else nl
                continue
            elif c in "'\"" and at_node:
                self.pos = i
                self.quoted()
                i, at_node = self.pos, False
                continue
            elif c not in " \t\r":
                at_node = False
            i += 1
        self.pos = len(text)


def read_text(path: Path, display: str, what: str = "file") -> str:
    """Read a small UTF-8 text file, refusing binary, oversized and non-UTF-8 input (and anything
    `files.read_bytes` refuses: FIFOs, devices, directories, symlink loops, impossible names)."""
    from aifactory.files import read_bytes

    data = read_bytes(path, display, MAX_BYTES, what)
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise UserError.at(Location(display, line), "the file is binary (it contains NUL bytes)",
                           "give a YAML text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise UserError.at(Location(display, line), f"the file is not valid UTF-8 (byte {err.start})",
                           "save the file as UTF-8") from None
    return text.removeprefix("\ufeff")


def to_plain(node: YNode) -> Any:
    if isinstance(node.value, dict):
        return {k: to_plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [to_plain(v) for v in node.value]
    return node.value


def locations(node: YNode, prefix: tuple[str | int, ...] = ()) -> dict[tuple[str | int, ...], Location]:
    out = {prefix: node.loc}
    if isinstance(node.value, dict):
        for k, v in node.value.items():
            out.update(locations(v, (*prefix, k)))
    elif isinstance(node.value, list):
        for i, v in enumerate(node.value):
            out.update(locations(v, (*prefix, i)))
    return out
