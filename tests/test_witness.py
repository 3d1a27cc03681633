"""Sound zero tests and certified witnesses (symbolic/one_neuron.py ``_is_zero``, proofs/witness.py):
a refutation needs an exact or arb-certified witness."""


def test_is_zero_does_not_split_radicals_unsoundly():
    """sqrt((x-1)(x-3)) - sqrt(x-1) sqrt(x-3) is not identically 0 for x > 0: at x = 1/2 it is
    sqrt(5/4) - (i/sqrt 2)(i sqrt(5/2)) = sqrt(5) exactly. A forced split of the radicand would
    call it zero; the sound test must not."""
    import sympy as sp

    from copyavg.symbolic.one_neuron import _is_zero

    x = sp.Symbol("x", positive=True)
    e = sp.sqrt((x - 1) * (x - 3)) - sp.sqrt(x - 1) * sp.sqrt(x - 3)
    assert e.subs(x, sp.Rational(1, 2)) == sp.sqrt(5)  # exact: the expression is not identically 0
    assert sp.expand_power_base(e, force=True) == 0  # what the unsound (forced) split concluded
    assert _is_zero(e) is False  # undecided, not "zero"
    t = sp.Symbol("t", positive=True)  # x = 3 + t > 3: both factors positive, the split is valid
    assert _is_zero(e.subs(x, 3 + t)) is True


def test_refutations_need_certified_witness():
    """A difference that SymPy cannot simplify is undecided unless arb certifies a non-zero value."""
    import sympy as sp

    from copyavg.proofs.witness import certified_sign, nonzero_witness

    y = sp.Symbol("y", positive=True)
    assert certified_sign(sp.pi - sp.Rational(355, 113))[0] == -1  # pi < 355/113 (exact: 3.14159265 < 3.14159292)
    assert certified_sign(sp.asin(sp.Rational(1, 2)) * 6 - sp.pi)[0] is None  # exactly 0: never a sign
    assert nonzero_witness(sp.asin(y) - y) is not None  # asin(y) > y on (0, 1)
    assert nonzero_witness(sp.sin(y) ** 2 + sp.cos(y) ** 2 - 1) is None  # zero at every point


def test_certified_sign_cases():
    import sympy as sp

    from copyavg.proofs.witness import certified_sign

    x = sp.Symbol("x")
    assert certified_sign(sp.Rational(-3, 7)) == (-1, "exact rational -3/7")
    assert certified_sign(sp.Rational(2, 5))[0] == 1
    assert certified_sign(0) == (None, "exactly 0")
    assert certified_sign(x + 1)[0] is None and "free symbols" in certified_sign(x + 1)[1]
    assert certified_sign(sp.sqrt(2) - sp.Rational(141, 100))[0] == 1  # sqrt 2 = 1.41421... > 1.41
    assert certified_sign(sp.asin(sp.Rational(1, 3)) - sp.Rational(1, 3))[0] == 1  # asin y > y on (0, 1]


def test_nonzero_witness_points():
    import sympy as sp

    from copyavg.proofs.witness import nonzero_witness

    x, y = sp.symbols("x y", real=True)
    # x - y vanishes on the diagonal: at the given point (1/3, 1/3) no witness, at the next one yes
    pts = [{x: sp.Rational(1, 3), y: sp.Rational(1, 3)}, {x: sp.Rational(1, 2), y: sp.Rational(1, 3)}]
    w = nonzero_witness(x - y, pts)
    assert w is not None and "x = 1/2, y = 1/3" in w and "+1" in w
    assert nonzero_witness(x - y, pts[:1]) is None
    # complex or infinite values are skipped, never taken as witnesses
    assert nonzero_witness(sp.sqrt(x - 1), [{x: sp.Rational(1, 2)}]) is None
    assert nonzero_witness(1 / x, [{x: 0}]) is None
    # default points: distinct values per symbol, so x - y is certified non-zero
    assert nonzero_witness(x - y) is not None


def test_nonzero_witness_skips_invalid_points_and_goes_on():
    import sympy as sp

    from copyavg.proofs.witness import nonzero_witness

    x = sp.Symbol("x", real=True)
    # 1/x at x = 0 is zoo (skipped), the next point x = 1/2 gives the certified value 2
    w = nonzero_witness(1 / x, [{x: 0}, {x: sp.Rational(1, 2)}])
    assert w is not None and "x = 1/2" in w


def test_nonzero_witness_unsupported_function_is_no_witness():
    import sympy as sp

    from copyavg.proofs.witness import nonzero_witness

    x = sp.Symbol("x", positive=True)
    # no arb evaluation for the Lambert W function here: undecided (None), never an exception
    assert nonzero_witness(sp.LambertW(x) + 5) is None


def test_default_points_are_a_latin_square_for_any_number_of_symbols():
    """Contract of ``default_points``: at each point up to 5 symbols get pairwise distinct values,
    over the points each symbol takes every value, and any number of symbols is accepted."""
    import sympy as sp

    from copyavg.proofs.witness import DEFAULT_POINTS, default_points

    for n in range(1, 8):
        syms = sp.symbols(f"x0:{n}")
        pts = default_points(syms)
        assert len(pts) == len(DEFAULT_POINTS)
        for pt in pts:
            assert set(pt) == set(syms) and set(pt.values()) <= set(DEFAULT_POINTS)
            if n <= len(DEFAULT_POINTS):
                assert len(set(pt.values())) == n
        for x in syms:
            assert {pt[x] for pt in pts} == set(DEFAULT_POINTS)


def test_default_point_values_avoid_the_usual_singularities():
    import sympy as sp

    from copyavg.proofs.witness import DEFAULT_POINTS

    assert len(set(DEFAULT_POINTS)) == len(DEFAULT_POINTS) == 5
    assert all(isinstance(v, sp.Rational) and 0 < v < 2 and v != 1 for v in DEFAULT_POINTS)


def test_points_that_raise_are_skipped_not_propagated():
    """A point whose evaluation raises TypeError, ValueError or ZeroDivisionError is no witness;
    the search goes on to the next point (an exact rational one, value certified)."""
    import sympy as sp

    from copyavg.proofs.witness import nonzero_witness

    x = sp.Symbol("x", real=True)
    for exc in (TypeError, ValueError, ZeroDivisionError):
        class Boom(sp.Function):  # raises at x = 0, is x + 1 elsewhere
            @classmethod
            def eval(cls, arg, exc=exc):
                if arg == 0:
                    raise exc("boom")
                if arg.is_Rational:
                    return arg + 1

        w = nonzero_witness(Boom(x), [{x: 0}, {x: sp.Rational(1, 2)}])
        assert w is not None and "x = 1/2" in w and "+1" in w, exc


def test_public_annotations_resolve():
    """The annotations of the public functions are valid types (postponed annotations are only
    strings until something, e.g. documentation tools, resolves them)."""
    import typing

    from copyavg.proofs import witness

    for fn in (witness.certified_sign, witness.nonzero_witness, witness.default_points):
        hints = typing.get_type_hints(fn)
        assert "return" in hints
