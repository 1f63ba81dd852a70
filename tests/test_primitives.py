import sympy as sp

from backprop_cli.primitives import FUNCTIONS, PLACEHOLDERS, PRIMITIVES, template

a, b = PLACEHOLDERS
SPEC_FUNCTIONS = ("sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh exp log ln sqrt abs erf "
                  "sigmoid relu softplus gelu silu elu max min pow leaky_relu").split()


def test_every_function_of_the_spec_is_in_the_table():
    assert set(SPEC_FUNCTIONS) <= FUNCTIONS


def test_local_derivatives_are_derived_by_sympy():
    assert template("product", (None, None)).partials == (b, a)
    assert template("sum", (None, None), (1, -1)).partials == (1, -1)
    assert template("tanh", (None,)).partials == (1 - sp.tanh(a) ** 2,)
    assert template("div", (None, None)).partials == (1 / b, -a / b**2)


def test_constant_parameters_are_folded_before_differentiating():
    square = template("pow", (None, sp.Integer(2)))
    assert square.partials == (2 * a,) and square.variables == (a,)
    assert template("log", (None, sp.Integer(10))).partials == (1 / (a * sp.log(10)),)
    # a constant factor is not folded: the template stays shared
    assert template("product", (sp.Integer(3), None)).variables == (a, b)


def test_optional_arguments_take_their_defaults():
    assert template("log", (None,)).value == sp.log(a)
    assert template("leaky_relu", (None,)).partials[0].subs(a, -1) == sp.Rational(1, 100)


def test_kink_conventions_follow_pytorch():
    def at(op, constants, point, which=0):
        t = template(op, constants)
        return t.partials[which].subs(dict(zip(t.variables, point)))

    assert at("relu", (None,), [0]) == 0
    assert at("leaky_relu", (None, sp.Rational(1, 5)), [0]) == sp.Rational(1, 5)
    assert at("abs", (None,), [0]) == 0
    assert at("max", (None, None), [1, 1]) == sp.Rational(1, 2)
    assert at("min", (None, None), [1, 1], which=1) == sp.Rational(1, 2)


def test_every_primitive_differentiates_at_a_positive_and_a_negative_point():
    for name, primitive in PRIMITIVES.items():
        count = max(primitive.arity)
        t = template(name, (None,) * count)
        for point in ([sp.Rational(1, 3), sp.Rational(2, 7)], [sp.Rational(-1, 3), sp.Rational(-2, 7)]):
            if name in ("log", "ln", "sqrt", "pow") and point[0] < 0:
                continue
            for partial in t.partials:
                value = partial.subs(dict(zip(t.variables, point)))
                assert value.is_finite, (name, point)
