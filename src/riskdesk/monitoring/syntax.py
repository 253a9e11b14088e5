"""A static look at a CEL rule: which inputs and fields it reads, which names and functions it uses, and where.

The CEL engine (common-expression-language) parses and runs a rule but has no type environment: it would accept
``stat.max_days_past_due`` and fail on every event at run time. This module tokenises the rule (CEL's lexical
grammar is small) and walks the tokens with the scopes of the comprehension macros (``list.exists(x, …)``), so
the compiler can refuse, with a line and column, any name outside the vocabulary, any undeclared field and any
function the engine does not have. It also turns the engine's parse errors into a position and plain words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

TokenKind = Literal["name", "string", "number", "symbol", "other"]

# CEL's keywords and the words it reserves (an identifier cannot be one of them).
KEYWORDS = frozenset({"true", "false", "null", "in"})
TYPE_NAMES = frozenset({"bool", "int", "uint", "double", "string", "bytes", "list", "map", "null_type", "type"})
MACROS_BINDING = frozenset({"all", "exists", "exists_one", "map", "filter"})  # x.all(v, …) binds v
# Functions the Rust CEL engine provides natively (cel crate's default context, as shipped in the wheel).
FUNCTIONS = frozenset(
    {
        "has",
        *MACROS_BINDING,
        "size",
        "int",
        "uint",
        "double",
        "string",
        "bytes",
        "timestamp",
        "duration",
        "type",
        "dyn",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "getFullYear",
        "getMonth",
        "getDayOfYear",
        "getDayOfMonth",
        "getDate",
        "getDayOfWeek",
        "getHours",
        "getMinutes",
        "getSeconds",
        "getMilliseconds",
    }
)

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|//[^\n]*)
  | (?P<string>(?:[rR][bB]?|[bB][rR])(?:'''.*?'''|\"\"\".*?\"\"\"|'[^'\n]*'|"[^"\n]*")
      | [bB]?(?:'''(?:\\.|[^\\])*?'''|\"\"\"(?:\\.|[^\\])*?\"\"\"|'(?:\\.|[^\\'\n])*'|"(?:\\.|[^\\"\n])*"))
  | (?P<number>0[xX][0-9a-fA-F]+[uU]?|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?[uU]?)
  | (?P<name>[_a-zA-Z][_a-zA-Z0-9]*)
  | (?P<symbol>==|!=|<=|>=|&&|\|\||[-+*/%<>!?:()\[\]{}.,])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    offset: int


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based, in characters


@dataclass(frozen=True)
class Problem:
    """Something wrong with a rule, where it is, in words an analyst can act on."""

    message: str
    position: Position | None = None


@dataclass
class References:
    """What a rule reads: the fields it selects per input (``state.utilisation``), the inputs it uses as a whole
    (``size(event)``), and where each selection is in the source, to run the rule on flat variables."""

    fields: dict[str, set[str]] = field(default_factory=dict)
    whole: set[str] = field(default_factory=set)
    spans: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, replacement) in the source

    def reads(self) -> dict[str, frozenset[str] | None]:
        """Per input, its fields, or None when the rule uses the input as a whole."""
        roots = [*self.fields, *(r for r in self.whole if r not in self.fields)]
        return {root: None if root in self.whole else frozenset(self.fields[root]) for root in roots}


def flat_name(root: str, name: str) -> str:
    """The top-level variable a selection ``root.name`` runs as (the engine converts nested maps slowly)."""
    return f"{root}__{name}"


def flatten(source: str, refs: References) -> str:
    """The rule with each selection of a declared field replaced by its flat variable, and ``has(root.field)``
    by ``true`` (a declared field is always present, maybe null). Strings and comments are left alone."""
    spans = sorted(refs.spans)
    kept: list[tuple[int, int, str]] = []
    for start, end, replacement in spans:
        if kept and start < kept[-1][1]:  # inside has(...), which replaces it whole
            continue
        kept.append((start, end, replacement))
    out = []
    cursor = 0
    for start, end, replacement in kept:
        out.append(source[cursor:start])
        out.append(replacement)
        cursor = end
    out.append(source[cursor:])
    return "".join(out)


def tokenize(source: str) -> list[Token]:
    """CEL tokens without spaces and comments; a character CEL does not know becomes an ``other`` token."""
    tokens = []
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup
        if kind != "space":
            tokens.append(Token(kind, match.group(), match.start()))  # type: ignore[arg-type]
    return tokens


def position_of(source: str, offset: int) -> Position:
    line = source.count("\n", 0, offset) + 1
    return Position(line, offset - (source.rfind("\n", 0, offset) + 1) + 1)


def _string_value(literal: str) -> str | None:
    """The text of a plain quoted literal without escapes; ``None`` for anything fancier."""
    plain = len(literal) >= 2 and literal[0] in "'\"" and literal[-1] == literal[0] and "\\" not in literal
    if plain and not literal.startswith(("'''", '"""')):
        return literal[1:-1]
    return None


@dataclass
class _Scope:
    opener: str
    binds: str | None = None


def analyse(source: str, vocabulary: Mapping[str, Mapping[str, object]]) -> tuple[References, Problem | None]:
    """Walk a rule that parses. Returns what it reads and the first problem (unknown name, field or function)."""
    tokens = tokenize(source)
    refs = References()
    scopes: list[_Scope] = []
    binding_at: set[int] = set()

    def at(i: int) -> Token | None:
        return tokens[i] if 0 <= i < len(tokens) else None

    def text(i: int) -> str:
        token = at(i)
        return token.text if token is not None else ""

    def kind(i: int) -> str:
        token = at(i)
        return token.kind if token is not None else ""

    def problem(token: Token, message: str) -> tuple[References, Problem]:
        return refs, Problem(message, position_of(source, token.offset))

    for i, token in enumerate(tokens):
        if token.kind == "symbol" and token.text in "([{":
            binds = None
            if token.text == "(" and text(i - 1) in MACROS_BINDING and text(i - 2) == ".":
                variable = at(i + 1)
                if variable is not None and variable.kind == "name" and text(i + 2) == ",":
                    if variable.text in vocabulary or "__" in variable.text:
                        return problem(variable, f"'{variable.text}' cannot name a variable here; choose another name")
                    binds = variable.text
                    binding_at.add(i + 1)
            scopes.append(_Scope(token.text, binds))
            continue
        if token.kind == "symbol" and token.text in ")]}":
            if scopes:
                scopes.pop()
            continue
        if token.kind != "name" or token.text in KEYWORDS or i in binding_at:
            continue
        if token.text in TYPE_NAMES and text(i + 1) != "(" and text(i - 1) != ".":  # type(x) == string
            continue
        if text(i + 1) == "(":  # a function or method call
            if token.text not in FUNCTIONS:
                return problem(token, f"there is no function '{token.text}' in the rule language")
            if (
                token.text == "has"
                and text(i - 1) != "."
                and text(i + 2) in vocabulary
                and text(i + 3) == "."
                and text(i + 4) in vocabulary[text(i + 2)]
                and text(i + 5) == ")"
            ):
                closing = tokens[i + 5]
                refs.spans.append((token.offset, closing.offset + 1, "true"))
            continue
        if text(i - 1) == ".":  # a field of something
            continue
        name = token.text
        if name in vocabulary:
            fields = vocabulary[name]
            key = None
            if text(i + 1) == "." and kind(i + 2) == "name" and text(i + 3) != "(":
                key = text(i + 2)
            elif text(i + 1) == "[" and kind(i + 2) == "string" and text(i + 3) == "]":
                key = _string_value(text(i + 2))
            if key is None:
                refs.whole.add(name)
                continue
            if key not in fields:
                return problem(tokens[i + 2], _unknown_field(name, key, fields))
            refs.fields.setdefault(name, set()).add(key)
            end = tokens[i + 2] if text(i + 1) == "." else tokens[i + 3]
            refs.spans.append((token.offset, end.offset + len(end.text), flat_name(name, key)))
            continue
        if any(scope.binds == name for scope in scopes):
            continue
        inputs = ", ".join(vocabulary)
        return problem(token, f"unknown name '{name}': a rule reads {inputs} (e.g. state.max_days_past_due)")
    return refs, None


def _unknown_field(root: str, name: str, fields: Mapping[str, object]) -> str:
    close = [f for f in fields if f.startswith(name[:4]) or name in f][:5]
    hint = f"; did you mean {', '.join(close)}?" if close else "; docs/monitoring.md lists the fields"
    return f"{root} has no field '{name}'{hint}"


# ── the engine's parse errors ────────────────────────────────────────────────────────────────────────────────────

_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*?)(?=\nERROR: <input>:|\Z)", re.DOTALL)
_INTERNAL = re.compile(r"^(?:No `|Incomplete `)")


def parse_error(source: str, engine_message: str) -> Problem:
    """The first parse error the engine reported, with its position and a plain message."""
    prefix = f"Failed to parse expression '{source}': "
    body = engine_message.removeprefix(prefix)
    found = []
    for match in _ERROR.finditer(body):
        text = match.group(3).split("\n|", 1)[0].strip()
        found.append((Position(int(match.group(1)), int(match.group(2))), text))
    usable = [(pos, text) for pos, text in found if not _INTERNAL.match(text)] or found
    if not usable:
        return Problem(body.strip() or "the rule does not parse")
    position, text = usable[0]
    return Problem(_plain(text, source), position)


def _plain(text: str, source: str) -> str:
    text = text.removeprefix("Syntax error: ")
    words = {t.text for t in tokenize(source) if t.kind == "name"}
    python_words = sorted(words & {"and", "or", "not", "is", "None", "True", "False"})
    hint = ""
    if python_words:
        hint = " (this is CEL, not Python: write && for and, || for or, ! for not, null, true, false)"
    if "Recursion limit" in text:
        return "the rule is nested too deeply; split it into simpler conditions"
    if m := re.match(r"token recognition error at: '(.*)'$", text, re.DOTALL):
        bad = m.group(1).strip()
        if bad.startswith("="):
            return "a single '=' is not an operator: compare with =="
        if bad[:1] in "'\"":
            return "a text value is not closed: add its closing quote"
        return f"'{bad[:1]}' is not part of the rule language{hint}"
    if m := re.match(r"mismatched input '<EOF>'", text):
        return f"the rule ends too early: something is missing at the end{hint}"
    if m := re.match(r"(?:mismatched|extraneous) input '(.*?)' expecting", text, re.DOTALL):
        return f"unexpected '{m.group(1)}' here{hint}"
    if m := re.match(r"missing '(.*?)' at '(.*?)'", text):
        where = "at the end" if m.group(2) == "<EOF>" else f"before '{m.group(2)}'"
        return f"a '{m.group(1)}' is missing {where}"
    if text.startswith("unsupported syntax"):
        return f"{text} (optional fields are not supported; every declared field is always present, maybe null)"
    return text + hint
