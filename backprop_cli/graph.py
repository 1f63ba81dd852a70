"""Syntax tree → computational graph, exactly as written.

`w*x + b` is a multiply node feeding an add node; `x - y` is a subtract and
`x/y` a divide (SymPy never sees the user's expression, so it cannot reshape
it); a name used twice is one node with two outgoing edges; `x*x` keeps both.
Nodes are stored in creation order, which is a topological order: every
node's arguments come before it. The walk over each expression is iterative,
so a left-deep chain of 100,000 additions does not recurse.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cached_property
from typing import Iterator

from fractions import Fraction

from backprop_cli import limits
from backprop_cli.errors import BackpropError, Span
from backprop_cli.parse import (ArrayLiteral, BinaryOp, Call, Expr, Name, Number, Statement, UnaryOp,
                                collector_paused, source_text, suggest)
from backprop_cli.primitives import CONSTANTS, FUNCTIONS, RESERVED, TENSOR_FUNCTIONS, NamedConstant

BARE_OUTPUT_NAME = "f"


class NodeKind(str, Enum):
    INPUT = "input"
    CONSTANT = "constant"
    OPERATION = "operation"


@dataclass(slots=True)  # not frozen, as EdgeStep: one per node; changed only by `replace`
class Node:
    index: int
    kind: NodeKind
    op: str | None  # key into PRIMITIVES for operations
    args: tuple[int, ...]  # argument node indices, in order, duplicates kept
    name: str | None  # the user's name: an input, or an assignment's target
    source: str = field(repr=False, compare=False)  # the program text the span points into
    span: Span = Span(0, 0)
    constant: Fraction | NamedConstant | None = None  # the value of a literal (exact), or pi/E
    depends_on_input: bool = True  # False for literals and arithmetic on them
    signs: tuple[int, ...] | None = None  # a sum's term signs: `a - b + c` is (1, -1, 1)
    # a tensor op's constant parameters: a literal's layout ((n,) or (m, n)), a reduction's axis
    params: tuple[int, ...] | None = None

    @property
    def text(self) -> str:
        """The user's text for this node, whitespace collapsed; past MAX_LABEL_CHARS its start and
        end around "…". Computed when asked: a long sum's partial sums would otherwise hold
        quadratic text."""
        start, end = self.span.start, self.span.end
        half = limits.MAX_LABEL_CHARS // 2
        if end - start <= limits.MAX_LABEL_CHARS:
            return source_text(self.source, self.span)
        return (source_text(self.source, Span(start, start + half)) + " … "
                + source_text(self.source, Span(end - half, end)))

    @property
    def label(self) -> str:
        return self.name if self.name is not None else self.text


@dataclass(frozen=True)
class Edges:
    """Every edge along which a gradient can flow: argument `position` of `consumer` is `source`,
    both depending on an input. Ordered by consumer, then position, so the edges into one node
    are one range: `into[consumer]`."""

    source: list[int]
    consumer: list[int]
    position: list[int]
    into: dict[int, range]

    def __len__(self) -> int:
        return len(self.source)

    @cached_property
    def out_of(self) -> dict[int, list[int]]:
        """source → its edges, in order (made when first asked for: few runs need it)."""
        result: dict[int, list[int]] = {}
        for edge, source in enumerate(self.source):
            result.setdefault(source, []).append(edge)
        return result


@dataclass
class Graph:
    source: str
    nodes: list[Node]
    names: dict[str, int]  # every name (input or assigned) → node index
    inputs: list[int]  # input nodes, in order of first use
    output: int
    statements: list[tuple[str, int, Span]] = field(default_factory=list)  # (name, node, span)
    _reaches: dict[int, list[bool]] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def edges(self) -> Edges:
        sources: list[int] = []
        consumers: list[int] = []
        positions: list[int] = []
        into: dict[int, range] = {}
        depends = [node.depends_on_input for node in self.nodes]
        operation = NodeKind.OPERATION
        for node in self.nodes:
            if node.kind is not operation or not node.depends_on_input:
                continue
            start, args = len(sources), node.args
            if all(map(depends.__getitem__, args)):  # most nodes: every argument carries a gradient
                sources.extend(args)
                consumers.extend([node.index] * len(args))
                positions.extend(range(len(args)))
            else:
                for position, arg in enumerate(args):
                    if depends[arg]:
                        sources.append(arg)
                        consumers.append(node.index)
                        positions.append(position)
            into[node.index] = range(start, len(sources))
        return Edges(sources, consumers, positions, into)

    @property
    def size(self) -> tuple[int, str]:
        """The graph's size for limits of the work it takes: its nodes, or its edges where those
        are more (a sum of 5,000 terms is one node with 5,000 edges)."""
        return (len(self.edges), "edges") if len(self.edges) > len(self.nodes) else (len(self.nodes), "nodes")

    def consumers(self) -> list[list[int]]:
        """For each node, the nodes that use it (once per use)."""
        result: list[list[int]] = [[] for _ in self.nodes]
        for node in self.nodes:
            for arg in node.args:
                result[arg].append(node.index)
        return result

    def ancestors_of(self, index: int) -> list[bool]:
        """Which nodes the given node depends on (itself included); computed once per node."""
        mark = self._reaches.get(index)
        if mark is None:
            mark = [False] * len(self.nodes)
            mark[index] = True
            for node in reversed(self.nodes[: index + 1]):
                if mark[node.index]:
                    for arg in node.args:
                        mark[arg] = True
            self._reaches[index] = mark
        return mark

    def unbound_inputs(self, bindings, output: int | None = None) -> list[str]:
        """The inputs the output depends on that have no value."""
        reached = self.ancestors_of(self.output if output is None else output)
        return [self.nodes[i].name for i in self.inputs if reached[i] and self.nodes[i].name not in bindings]


class _Builder:
    def __init__(self, source: str):
        self.source = source
        self.nodes: list[Node] = []
        self.names: dict[str, int] = {}
        self.inputs: list[int] = []
        self.input_spans: dict[str, Span] = {}
        self.assigned_spans: dict[str, Span] = {}

    def add(self, kind: NodeKind, span: Span, *, op: str | None = None, args: tuple[int, ...] = (),
            name: str | None = None, constant: Fraction | NamedConstant | None = None, depends_on_input: bool = True,
            signs: tuple[int, ...] | None = None, params: tuple[int, ...] | None = None) -> int:
        nodes = self.nodes
        index = len(nodes)
        if index >= limits.MAX_NODES:
            raise BackpropError(
                f"the graph has more than {limits.MAX_NODES:,} nodes; the limit is {limits.MAX_NODES:,}", span)
        nodes.append(Node(index, kind, op, args, name, self.source, span, constant, depends_on_input, signs, params))
        return index

    def leaf(self, expr: Expr) -> int | None:
        """The node of a number or a name (made at the name's first use); None for an operation."""
        if isinstance(expr, Name):
            index = self.names.get(expr.id)
            return index if index is not None else self.first_use(expr)
        if isinstance(expr, Number):
            value = expr.value
            return self.add(NodeKind.CONSTANT, expr.span, constant=value, depends_on_input=False)
        return None

    def first_use(self, expr: Name) -> int:
        """The node of a name not assigned before: a constant (pi, E) or an input."""
        name = expr.id
        if name in CONSTANTS:
            return self.add(NodeKind.CONSTANT, expr.span, constant=CONSTANTS[name], depends_on_input=False)
        if name in FUNCTIONS:
            raise BackpropError(f"'{name}' is a function; call it as {name}(...)", expr.span)
        index = self.add(NodeKind.INPUT, expr.span, name=name)
        self.names[name] = index
        self.inputs.append(index)
        self.input_spans[name] = expr.span
        return index

    def expression(self, root: Expr) -> int:
        """Post-order walk with an explicit stack: an operation's operands first, then its node.
        Nodes are made in the order a reader meets the finished parts, left to right."""
        root_leaf = self.leaf(root)
        if root_leaf is not None:
            return root_leaf
        stack = [self.frame(root)]
        while True:
            expr, operands_left, signs, arg_nodes = stack[-1]
            for operand in operands_left:  # resumes after the operand built last
                index = self.leaf(operand)
                if index is None:  # an operation: its operands first
                    stack.append(self.frame(operand))
                    break
                arg_nodes.append(index)
            else:
                stack.pop()
                index = self.operation(expr, tuple(arg_nodes), signs)
                if not stack:
                    return index
                stack[-1][3].append(index)

    def frame(self, expr: Expr) -> tuple[Expr, Iterator[Expr], tuple[int, ...] | None, list[int]]:
        """An operation on the walk's stack: its operands still to build, their signs, and the
        nodes of those built."""
        operands, signs = self.terms(expr)
        return expr, iter(operands), signs, []

    def operation(self, expr: Expr, arg_nodes: tuple[int, ...], signs: tuple[int, ...] | None) -> int:
        """The node of an operation whose operands' nodes are made (unary plus: its operand's)."""
        params = None
        if isinstance(expr, BinaryOp):
            op = _RUNS.get(expr.op, expr.op)
        elif isinstance(expr, UnaryOp):
            if expr.op == "pos":
                return arg_nodes[0]  # unary plus changes nothing: no node
            op = expr.op
        elif isinstance(expr, Call):
            op = expr.function
            if op in TENSOR_FUNCTIONS:
                op = TENSOR_FUNCTIONS[expr.function].op
                if TENSOR_FUNCTIONS[expr.function].axis:
                    params = _axis(expr)
        else:  # an ArrayLiteral
            op, params = "array", _layout(expr)
        nodes = self.nodes
        return self.add(NodeKind.OPERATION, expr.span, op=op, args=arg_nodes,
                        signs=signs if op == "sum" else None, params=params,
                        depends_on_input=any(nodes[a].depends_on_input for a in arg_nodes))

    def terms(self, expr: Expr) -> tuple[tuple[Expr, ...], tuple[int, ...] | None]:
        """A node's operands. A run of `+`/`-` terms at one level is one sum (`w1*x1 + w2*x2 + b`
        has three terms, with their signs), a run of `*` factors one product; brackets start a
        new level, as a reader sees it: `(a + b) + c` is a sum inside a sum."""
        if not isinstance(expr, BinaryOp) or expr.op not in _RUNS:
            return _children(expr), None
        run = ("add", "sub") if expr.op in ("add", "sub") else ("mul",)
        operands: list[Expr] = []
        signs: list[int] = []
        # A factor's local derivative is the product of all the others (n² symbols for n factors):
        # past MAX_PRODUCT_FACTORS, the rest of the run becomes a product of its own.
        longest = limits.MAX_PRODUCT_FACTORS - 1 if run == ("mul",) else None
        source = self.source
        while isinstance(expr, BinaryOp) and expr.op in run and len(operands) != longest:
            operands.append(expr.right)
            signs.append(-1 if expr.op == "sub" else 1)
            expr = expr.left
            if source[expr.span.start] == "(" and self.bracketed(expr):  # (most terms start otherwise)
                break
        operands.append(expr)
        signs.append(1)
        operands.reverse()
        signs.reverse()
        return tuple(operands), tuple(signs)

    def bracketed(self, expr: Expr) -> bool:
        """Whether the expression's text is wrapped in one pair of brackets: `(a + b)`."""
        span = expr.span
        if self.source[span.start] != "(" or self.source[span.end - 1] != ")":  # (a span is never empty)
            return False
        depth = 0
        for position in range(span.start, span.end):
            char = self.source[position]
            depth += char == "("
            depth -= char == ")"
            if depth == 0:
                return position == span.end - 1
        return False

    def statement(self, statement: Statement, taken_names: set[str]) -> tuple[str, int]:
        target = statement.target
        if target is None:
            target = BARE_OUTPUT_NAME
            if target in taken_names:
                raise BackpropError(
                    f"the last expression would be called '{target}', but '{target}' is already used",
                    statement.span, hint="give the last expression its own name: L = ...")
        else:
            span = statement.target_span
            if target in RESERVED:
                kind = "constant" if target in CONSTANTS else "function"
                raise BackpropError(f"'{target}' is a {kind} and cannot be assigned", span,
                                    hint="choose another name")
            if target in self.assigned_spans:
                first = self.assigned_spans[target]
                line = self.source.count("\n", 0, first.start) + 1
                raise BackpropError(f"'{target}' is assigned twice (first on line {line})", span,
                                    hint="a name is assigned at most once; use a new name")
            if target in self.input_spans:
                raise BackpropError(
                    f"'{target}' is used before it is assigned, so it is an input; it cannot be assigned later",
                    span, hint=f"assign {target} before its first use, or rename the input")
        index = self.expression(statement.expr)
        if statement.target is not None and target in self.input_spans:  # x = x*x + 1
            raise BackpropError(
                f"'{target}' is an input of this statement and cannot also be assigned by it",
                statement.target_span,
                hint=f"give the result a new name: {target}_new = {source_text(self.source, statement.expr.span)}")
        node = self.nodes[index]
        if node.name is not None or node.kind is not NodeKind.OPERATION:
            # `y = x` or `y = 3`: a named copy, so ∂L/∂y has a node of its own.
            index = self.add(NodeKind.OPERATION, statement.expr.span, op="copy", args=(index,), name=target,
                             depends_on_input=node.depends_on_input)
        else:
            self.nodes[index] = replace(node, name=target)
        self.names[target] = index
        self.assigned_spans[target] = statement.target_span or statement.span
        return target, index


_RUNS = {"add": "sum", "sub": "sum", "mul": "product"}


def _children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, BinaryOp):
        return (expr.left, expr.right)
    if isinstance(expr, UnaryOp):
        return (expr.operand,)
    if isinstance(expr, Call):
        if expr.function in TENSOR_FUNCTIONS and TENSOR_FUNCTIONS[expr.function].axis:
            return expr.args[:1]  # the axis is a parameter, not an operand
        return expr.args
    if isinstance(expr, ArrayLiteral):  # a matrix's entries, row by row
        if len(_layout(expr)) == 2:  # (checked first: rows of equal length, no number among rows)
            return tuple(entry for row in expr.items for entry in row.items)
        return expr.items
    return ()


def _layout(literal: ArrayLiteral) -> tuple[int, ...]:
    """A literal's shape: (n,) for a list of entries, (m, n) for a list of equal rows."""
    rows = [item for item in literal.items if isinstance(item, ArrayLiteral)]
    if not rows:
        return (len(literal.items),)
    if len(rows) != len(literal.items):
        odd = next(item for item in literal.items if not isinstance(item, ArrayLiteral))
        raise BackpropError("a matrix literal is a list of rows: every item must be a list", odd.span,
                            hint="e.g. [[1, 0], [0, 1]]")
    for row in rows:
        for entry in row.items:
            if isinstance(entry, ArrayLiteral):
                raise BackpropError("a literal of rank 3: vectors and matrices (rank 1 and 2) are enough",
                                    entry.span)
        if len(row.items) != len(rows[0].items):
            count = len(row.items)
            raise BackpropError(f"the rows of a matrix must have equal lengths: this row has {count} "
                                f"entr{'y' if count == 1 else 'ies'}, the first has {len(rows[0].items)}", row.span)
    return (len(rows), len(rows[0].items))


def _axis(call: Call) -> tuple[int, ...]:
    """A reduction's axis, (0,), (1,) or (-1,); () for all entries."""
    if len(call.args) == 1:
        return ()
    axis = call.args[1]
    negative = isinstance(axis, UnaryOp) and axis.op == "neg"
    number = axis.operand if negative else axis
    if isinstance(number, Number) and number.value.denominator == 1:
        value = -int(number.value) if negative else int(number.value)
        if value in (0, 1, -1):
            return (value,)
    raise BackpropError(f"the axis of {call.function}(x, axis) must be 0, 1 or -1", axis.span,
                        hint=f"{call.function}(x) reduces over every entry")


def build_graph(statements: list[Statement], source: str, of: str | None = None) -> Graph:
    builder = _Builder(source)
    try:
        assigned = {s.target for s in statements if s.target is not None}
        named: list[tuple[str, int, Span]] = []
        with collector_paused():
            for statement in statements:
                name, index = builder.statement(statement, assigned)
                named.append((name, index, statement.span))
    except BackpropError as error:
        raise error.located(source, "program")
    output = named[-1][1]
    if of is not None:
        if of not in builder.names or builder.nodes[builder.names[of]].kind is NodeKind.INPUT:
            assigned_names = [n for n, _, _ in named]
            guess = suggest(of, assigned_names)
            raise BackpropError(
                f"--of {of}: no statement assigns '{of}'" + (f" (did you mean '{guess}'?)" if guess else ""),
                hint="assigned names: " + ", ".join(assigned_names))
        output = builder.names[of]
    return Graph(source, builder.nodes, builder.names, builder.inputs, output, named)
