"""Views rendered to exact text: what a person sees."""

import pytest
from rich.console import Console

from backprop_cli.engine import Request, run
from backprop_cli.i18n import Messages
from backprop_cli.render.common import EdgeFormulas, formula_text, grouped, local_formula_text, shorten
from backprop_cli.render.tree import render_explain
from backprop_cli.source import BindingText, from_sample, from_text, sample_names

LINEAR_TREE = """\
Forward pass
 w                   = 3
 x                   = 2
 b                   = 1
 t                   = 10
 y  = w*x + b        = 7
 L  = (y - t)^2 / 2  = 9/2 = 4.5

Backward pass
Start at the output with ∂L/∂L = 1 and walk back: on each edge, upstream × local = contribution;
where a node feeds several others, its contributions add up.
L = 9/2 = 4.5    ∂L/∂L = 1
└── (y - t)^2 = 9
    local ∂L/∂((y - t)^2) = 1/2   (quotient: 1/denominator)
    1 × 1/2 = 1/2
    └── (y - t) = -3
        local ∂((y - t)^2)/∂(y - t) = 2*(y - t) = -6   (power rule)
        1/2 × (-6) = -3
        ├── y = 7
        │   local ∂(y - t)/∂y = 1   (sum: passes the gradient through)
        │   (-3) × 1 = -3   →  ∂L/∂y = -3
        │   ├── w*x = 6
        │   │   local ∂y/∂(w*x) = 1   (sum: passes the gradient through)
        │   │   (-3) × 1 = -3
        │   │   ├── w = 3
        │   │   │   local ∂(w*x)/∂w = x = 2   (product: the other factor)
        │   │   │   (-3) × 2 = -6   →  ∂L/∂w = -6
        │   │   └── x = 2
        │   │       local ∂(w*x)/∂x = w = 3   (product: the other factor)
        │   │       (-3) × 3 = -9   →  ∂L/∂x = -9
        │   └── b = 1
        │       local ∂y/∂b = 1   (sum: passes the gradient through)
        │       (-3) × 1 = -3   →  ∂L/∂b = -3
        └── t = 10
            local ∂(y - t)/∂t = -1   (difference: flips the sign)
            (-3) × (-1) = 3   →  ∂L/∂t = 3

Gradients of L

  input   value   ∂L/∂input   decimal   finite difference     error   check
 ───────────────────────────────────────────────────────────────────────────
  w       3       -6               -6                  -6   2.2e-57     ✓
  x       2       -9               -9                  -9   2.2e-57     ✓
  b       1       -3               -3                  -3   3.0e-56     ✓
  t       10      3                 3                   3   3.4e-57     ✓


Notes
Check: central difference in 80-digit arithmetic, a step of 1e-25·max(1, |input|) (smaller where
that would leave a function's domain); a gradient passes within 1e-09 relative to max(1,
|gradient|).

Result: ∂L/∂w = -6 ✓   ∂L/∂x = -9 ✓   ∂L/∂b = -3 ✓   ∂L/∂t = 3 ✓
"""


def plain(renderable, width=100):
    console = Console(width=width, color_system=None, record=True, file=open("/dev/null", "w"))
    console.print(renderable)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines()) + "\n"


def test_linear_walkthrough_exact_text():
    report = run(Request(from_sample("linear")))
    assert plain(render_explain(report, Messages("en"))) == LINEAR_TREE


def test_labels_and_formulas():
    assert grouped("w*x") == "(w*x)" and grouped("(y - t)") == "(y - t)" and grouped("h1") == "h1"
    assert grouped("(a) + (b)") == "((a) + (b))"
    assert shorten("x" * 100, 11) == "xxxxx…xxxxx"
    import sympy as sp

    a, b = sp.symbols("a b", real=True)
    assert formula_text(1 - sp.tanh(a) ** 2, (a,), ["w*x + b"]) == "1 - tanh(w*x + b)^2"  # the program's ^
    assert formula_text(2 * a, (a,), ["(y - t)"]) == "2*(y - t)"
    relu = sp.Piecewise((1, a > 0), (0, True))
    assert formula_text(relu, (a,), ["z"]) == "(1 if z > 0, else 0)"


@pytest.mark.parametrize("name", sample_names())
def test_edge_formulas_word_each_edge_as_the_one_off_helper_does(name):
    trace = run(Request(from_sample(name))).trace
    shared = EdgeFormulas(trace)
    # a tensor op's edge is worded by its rule (render/tensor_text.py); its entry-wise edges as scalars'
    steps = [step for step in trace.steps if not trace.tensor or step.local.rule == "entrywise"]
    assert steps and [shared(step) for step in steps] == [local_formula_text(trace, step) for step in steps]


def test_edge_formulas_use_the_operands_text():
    trace = run(Request(from_text("y = tanh(w*x + b); L = (y - t)^2/2"),
                        [BindingText("w=1,x=2,b=0,t=1", "--at")])).trace
    words = {(trace.forward.graph.nodes[s.consumer].label, s.position): EdgeFormulas(trace)(s) for s in trace.steps}
    assert words[("y", 0)] == "1 - y^2"  # issue 12: the textbook form, in the node's own name
    assert words[("(y - t)^2", 0)] == "2*(y - t)"
    assert words[("w*x", 0)] == "x"


def test_a_note_names_ten_unbound_inputs_then_counts_the_rest(cli):
    """5,000 unbound names made a note of 5,000 lines (a newcomer's trial)."""
    program = "L = " + " + ".join(f"x{i}" for i in range(50))
    code, out, _ = cli("grad", program, "--at", "x0=1")
    assert code == 0
    assert "Unbound inputs (x1, x2, x3, x4, x5, x6, x7, x8, x9, x10 and 39 more) stay symbolic" in " ".join(out.split())
