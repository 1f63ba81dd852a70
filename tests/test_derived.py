"""derived.py is what the generator writes from the primitives table, and the plain templates
numeric mode runs on say what SymPy's say."""

import random
from fractions import Fraction

import pytest
import sympy as sp

from backprop_cli import derive
from backprop_cli.derive import from_form, to_form
from backprop_cli.numbers import compile_part
from backprop_cli.primitives import PLACEHOLDERS, PRIMITIVES, placeholder
from backprop_cli.primitives import template as symbolic_template
from backprop_cli.templates import template


def test_the_generated_module_is_current():
    """Regenerated from PRIMITIVES, it is the checked-in file, byte for byte (run
    `python -m backprop_cli.derive` after changing the table or the derivation)."""
    assert derive.TARGET.read_text(encoding="utf-8") == derive.source()


def test_every_primitive_has_its_templates_in_the_table():
    from backprop_cli.derived import TEMPLATES

    for name, primitive in PRIMITIVES.items():
        if primitive.arity != (-1,):
            assert (name, (None,) * max(primitive.arity)) in TEMPLATES, name
    assert ("pow", (None, "2")) in TEMPLATES and ("log", (None, "E")) in TEMPLATES


def _symbolic_at(expr, point):
    return sp.N(expr.subs(dict(zip([placeholder(i) for i in range(len(point))], point))), 40)


@pytest.mark.parametrize("key", [("pow", (None, Fraction(2))), ("pow", (None, Fraction(1, 2))), ("pow", (None, Fraction(11))),
                                 ("log", (None,)), ("log", (None, Fraction(10))), ("log", (None, Fraction(3))),
                                 ("leaky_relu", (None,)), ("leaky_relu", (None, Fraction(1, 3))), ("tanh", (None,)),
                                 ("div", (None, None)), ("max", (None, None)), ("gelu", (None,))])
def test_a_template_from_the_table_or_derived_now_is_sympys(key):
    """Value, partials and switches, back as SymPy expressions, equal SymPy's template's — the
    ones in derived.py and the ones derived at run time (x^11, log(x, 3))."""
    op, constants = key
    tmpl = template(op, constants)
    symbolic = tmpl.symbolic
    variables = tuple(placeholder(i) for i in range(tmpl.arity))
    assert sp.simplify(from_form(tmpl.value, variables) - symbolic.value) == 0
    for ours, theirs in zip(tmpl.partials, symbolic.partials):
        assert from_form(ours, variables) == theirs or sp.simplify(from_form(ours, variables) - theirs) == 0


def test_sums_and_products_of_any_length_are_built_without_sympy_and_agree_with_it():
    rng = random.Random(7)
    for n in (2, 3, 9, 30):
        signs = tuple(rng.choice((1, -1)) for _ in range(n))
        point = [rng.uniform(-3, 3) for _ in range(n)]
        for op, s in (("sum", signs), ("product", None)):
            tmpl = template(op, (None,) * n, s)
            symbolic = symbolic_template(op, (None,) * n, s)
            args = (point,) if n > 8 else point  # a wide template is evaluated on its argument list
            value = compile_part(tmpl, "value", "float")(*args)
            assert value == pytest.approx(float(_symbolic_at(symbolic.value, point)), rel=1e-12)
            for which in range(n):
                got = compile_part(tmpl, which, "float")(*args)
                assert got == pytest.approx(float(_symbolic_at(symbolic.partials[which], point)), rel=1e-12)


def test_a_sum_adds_its_terms_in_the_order_they_are_written():
    tmpl = template("sum", (None,) * 3, (1, -1, 1))
    assert compile_part(tmpl, "value", "float")(1e16, 1.0, -1e16) == (1e16 - 1.0) + -1e16


def test_the_product_rule_texts_name_the_other_factors_in_order():
    tmpl = template("product", (None,) * 3)
    assert tmpl.textbook[0] == ((1, False), "*", (2, False))
    assert tmpl.textbook[1] == ((0, False), "*", (2, False))


def test_an_expression_tree_round_trips_through_sympy():
    a, b = PLACEHOLDERS
    for expr in (sp.tanh(a) ** 2 - 1, sp.Piecewise((a, a > 0), (a / 100, True)), sp.Max(a, b), sp.log(a, 10),
                 sp.Heaviside(a - b), sp.erf(sp.sqrt(2) * a / 2), a ** b * sp.log(a), sp.exp(-a) / (1 + sp.exp(-a)) ** 2):
        index = {a: 0, b: 1}
        assert from_form(to_form(expr, index), (a, b)) == expr


def test_constants_of_the_trees_are_the_nearest_floats():
    from backprop_cli.templates import constant_float

    a = PLACEHOLDERS[0]
    for expr in (sp.log(10), sp.sqrt(2) / 2, 1 / sp.log(2), sp.pi / 4, sp.E ** 2):
        form = to_form(expr, {a: 0})
        assert constant_float(form) == float(expr)
