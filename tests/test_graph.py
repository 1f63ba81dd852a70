import pytest

from backprop_cli.errors import BackpropError
from backprop_cli.graph import NodeKind, build_graph
from backprop_cli.parse import parse_program


def graph_of(text, of=None):
    return build_graph(parse_program(text), text, of=of)


def test_graph_mirrors_what_was_written():
    g = graph_of("y = w*x + b")
    ops = [n.op for n in g.nodes if n.kind is NodeKind.OPERATION]
    assert ops == ["mul", "add"]
    add = g.nodes[g.output]
    assert g.nodes[add.args[0]].op == "mul" and add.name == "y"


def test_subtract_and_divide_are_their_own_nodes():
    g = graph_of("f = (x - y) / z")
    assert [n.op for n in g.nodes if n.op] == ["sub", "div"]


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
