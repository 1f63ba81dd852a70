import pytest

from backprop_cli.errors import BackpropError
from backprop_cli.graph import NodeKind, build_graph
from backprop_cli.parse import parse_program


def graph_of(text, of=None):
    return build_graph(parse_program(text), text, of=of)


def test_graph_mirrors_what_was_written():
    g = graph_of("y = w*x + b")
    ops = [n.op for n in g.nodes if n.kind is NodeKind.OPERATION]
    assert ops == ["product", "sum"]
    add = g.nodes[g.output]
    assert g.nodes[add.args[0]].op == "product" and add.name == "y"


def test_subtract_and_divide_are_their_own_nodes():
    g = graph_of("f = (x - y) / z")
    assert [n.op for n in g.nodes if n.op] == ["sum", "div"]
    assert g.nodes[g.nodes[g.output].args[0]].signs == (1, -1)


def test_a_run_of_terms_is_one_sum_and_a_run_of_factors_one_product():
    """SPEC §1: a neuron's w1*x1 + w2*x2 + b is one sum of three terms; x*x*x three edges from x."""
    g = graph_of("z = w1*x1 + w2*x2 - b")
    z = g.nodes[g.output]
    assert z.op == "sum" and len(z.args) == 3 and z.signs == (1, 1, -1)
    assert [g.nodes[a].op for a in z.args] == ["product", "product", None]
    cube = graph_of("f = x*x*x")
    x = cube.names["x"]
    assert cube.nodes[cube.output].op == "product" and cube.nodes[cube.output].args == (x, x, x)
    # brackets start a new level, as a reader sees them; / and ^ stay as written
    nested = graph_of("f = (a + b) + c*d/e")
    top = nested.nodes[nested.output]
    assert top.op == "sum" and [nested.nodes[a].op for a in top.args] == ["sum", "div"]
    assert nested.nodes[top.args[1]].args[0] == nested.names.get("c", -1) or \
        nested.nodes[nested.nodes[top.args[1]].args[0]].op == "product"


def test_a_very_long_product_is_nested_past_the_factor_limit():
    from backprop_cli import limits
    g = graph_of("f = " + "*".join(["x"] * (limits.MAX_PRODUCT_FACTORS + 5)))
    top = g.nodes[g.output]
    assert top.op == "product" and len(top.args) == limits.MAX_PRODUCT_FACTORS
    assert g.nodes[top.args[0]].op == "product" and len(g.nodes[top.args[0]].args) == 6


def test_square_by_multiplication_keeps_both_edges():
    g = graph_of("f = x*x")
    x = g.names["x"]
    assert g.nodes[g.output].args == (x, x)
    assert g.consumers()[x] == [g.output, g.output]


def test_a_name_used_twice_is_one_node_with_two_consumers():
    g = graph_of("c = a + b; d = b + 1; e = c * d")
    b = g.names["b"]
    assert [g.nodes[c].name for c in g.consumers()[b]] == ["c", "d"]
    assert [g.nodes[i].name for i in g.inputs] == ["a", "b"]


def test_copy_of_a_name_gets_its_own_node():
    g = graph_of("y = x; f = y*y")
    assert g.nodes[g.names["y"]].op == "copy"


def test_bare_expression_is_called_f_and_of_picks_another():
    assert graph_of("y = 2*x; y + 1").nodes[graph_of("y = 2*x; y + 1").output].name == "f"
    g = graph_of("y = 2*x; L = y^2", of="y")
    assert g.nodes[g.output].name == "y"
    with pytest.raises(BackpropError, match="--of q: no statement assigns 'q'"):
        graph_of("y = 2*x", of="q")


@pytest.mark.parametrize(
    "text, message",
    [
        ("y = x; y = 2", "'y' is assigned twice (first on line 1)"),
        ("f = x + 1; x = 2", "'x' is used before it is assigned"),
        ("sin = 2", "'sin' is a function and cannot be assigned"),
        ("E = 2", "'E' is a constant and cannot be assigned"),
        ("f = 2 + sin", "'sin' is a function; call it as sin(...)"),
    ],
)
def test_naming_errors(text, message):
    with pytest.raises(BackpropError) as info:
        graph_of(text)
    assert message in info.value.message


def test_lower_case_e_is_a_name_and_E_is_euler():
    g = graph_of("f = e*E")
    assert [g.nodes[i].name for i in g.inputs] == ["e"]


def test_constants_do_not_depend_on_inputs():
    g = graph_of("f = 2*pi*x")
    two_pi = g.nodes[g.nodes[g.output].args[0]]
    assert not two_pi.depends_on_input
