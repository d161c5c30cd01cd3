"""Quantity: exact parsing, canonical form, integers, arithmetic, hashing, pickling."""

from __future__ import annotations

import copy
import decimal
import pickle

import pytest

import kubemetrics
from kubemetrics import KubeMetricsError, Quantity, QuantityError, parse_quantity


@pytest.mark.parametrize(
    ("text", "canonical", "milli"),
    [
        ("250264852n", "250264852n", 251),
        ("8318172Ki", "8318172Ki", 8517808128000),
        ("1500m", "1500m", 1500),
        ("1.5", "1500m", 1500),
        ("1.5Gi", "1536Mi", 1610612736000),
        ("12e6", "12e6", 12000000000),
        ("100M", "100M", 100000000000),
        ("0", "0", 0),
        ("-0.1n", "-1n", -1),
        ("969654n", "969654n", 1),
        ("15012Ki", "15012Ki", 15372288000),
    ],
)
def test_parse_canonical_and_milli(text: str, canonical: str, milli: int) -> None:
    q = Quantity(text)
    assert str(q) == canonical
    assert q.milli_value == milli
    assert repr(q) == f'Quantity("{canonical}")'
    assert parse_quantity(text) == q


def test_repr_is_a_constructor_call() -> None:
    q = Quantity("1536Mi")
    assert repr(q) == 'Quantity("1536Mi")'
    assert eval(repr(q), {"Quantity": Quantity}) == q


def test_value_and_int_round_up_away_from_zero() -> None:
    assert Quantity("1.5").value == 2
    assert Quantity("-1.5").value == -2
    assert int(Quantity("1.5")) == 2
    assert Quantity("250264852n").value == 1
    assert Quantity("8318172Ki").value == 8517808128
    assert Quantity("1n").scaled_value(-9) == 1


def test_big_values_are_exact_python_ints() -> None:
    q = Quantity("1e30")
    assert q.value == 10**30
    assert q.milli_value == 10**33
    assert Quantity("9E").value == 9 * 10**18
    assert Quantity(10**30) == q


def test_values_beyond_128_bits_raise_overflow() -> None:
    q = Quantity("1e100")
    with pytest.raises(OverflowError):
        _ = q.value
    with pytest.raises(OverflowError):
        _ = q.milli_value
    with pytest.raises(OverflowError):
        int(q)
    assert float(q) == 1e100


def test_float() -> None:
    assert float(Quantity("1.5Gi")) == 1610612736.0
    assert float(Quantity("250264852n")) == 0.250264852
    assert isinstance(float(Quantity("1")), float)


def test_to_decimal_is_exact() -> None:
    assert Quantity("250264852n").to_decimal() == decimal.Decimal("0.250264852")
    assert Quantity("1Ki").to_decimal() == decimal.Decimal(1024)
    assert Quantity("-1500m").to_decimal() == decimal.Decimal("-1.5")


def test_constructor_accepts_str_int_and_quantity() -> None:
    assert Quantity(5) == Quantity("5")
    assert Quantity(-3) == Quantity("-3")
    q = Quantity("1Gi")
    assert Quantity(q) == q
    with pytest.raises(TypeError):
        Quantity(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Quantity(None)  # type: ignore[arg-type]
    with pytest.raises(QuantityError):
        Quantity(10**40)


@pytest.mark.parametrize("bad", ["1K", "NaN", "", "abc", ".", "Ki", "1e2147483648", "1.5.5", "1e1001"])
def test_invalid_strings_raise_quantity_error(bad: str) -> None:
    with pytest.raises(QuantityError) as info:
        Quantity(bad)
    err = info.value
    assert isinstance(err, ValueError)
    assert isinstance(err, KubeMetricsError)
    assert err.kind == "Quantity"
    assert err.status is None
    assert err.message == str(err)
    assert err.message


def test_error_message_names_the_input() -> None:
    with pytest.raises(QuantityError, match='"1K"'):
        Quantity("1K")
    with pytest.raises(ValueError):
        parse_quantity("1K")


def test_equality_ordering_and_hash_look_at_the_value() -> None:
    a, b, c = Quantity("1"), Quantity("1000m"), Quantity("1e0")
    assert a == b == c
    assert len({a, b, c}) == 1
    assert hash(a) == hash(b)
    assert Quantity("1Ki") == Quantity("1024")
    assert hash(Quantity("1Ki")) == hash(Quantity("1024"))
    assert Quantity("999m") < Quantity("1") <= Quantity("1000m") < Quantity("1001m")
    assert Quantity("2") > Quantity("-3") >= Quantity("-3")
    assert sorted([Quantity("1Gi"), Quantity("1G"), Quantity("1Mi")]) == [Quantity("1Mi"), Quantity("1G"), Quantity("1Gi")]
    assert Quantity("1") != Quantity("2")
    assert max(Quantity("5m"), Quantity("1n")) == Quantity("5m")


def test_comparison_with_other_types() -> None:
    assert (Quantity("1") == 1) is False
    assert (Quantity("1") == "1") is False
    assert Quantity("1") != "1"
    with pytest.raises(TypeError):
        _ = Quantity("1") < 2  # type: ignore[operator]


def test_arithmetic_is_exact() -> None:
    assert str(Quantity("1") + Quantity("500m")) == "1500m"
    assert str(Quantity("1") - Quantity("2")) == "-1"
    assert str(Quantity("250264852n") + Quantity("1m")) == "251264852n"
    assert str(Quantity("1Gi") + Quantity("1Gi")) == "2Gi"
    assert str(-Quantity("3")) == "-3"
    assert +Quantity("3") == Quantity("3")
    assert sum([Quantity("1"), Quantity("2m")], Quantity("0")) == Quantity("1002m")
    with pytest.raises(TypeError):
        _ = Quantity("1") + 1  # type: ignore[operator]
    with pytest.raises(QuantityError):
        _ = Quantity("9e1000") + Quantity("9e1000")


def test_bool() -> None:
    assert not Quantity("0")
    assert not Quantity("0Ki")
    assert Quantity("1n")


def test_format_and_parts() -> None:
    assert Quantity("1Gi").format == "BinarySI"
    assert Quantity("1G").format == "DecimalSI"
    assert Quantity("12e6").format == "DecimalExponent"
    assert str(Quantity("1Gi").with_format("DecimalSI")) == "1073741824"
    assert Quantity("1500m").to_parts() == (15, -1)
    m, e = Quantity("250264852n").to_parts()
    assert (m, e) == (250264852, -9)
    assert Quantity.from_parts(15, -1) == Quantity("1.5")
    assert str(Quantity.from_parts(3, 0, "BinarySI")) == "3"
    assert str(Quantity.from_parts(1, -10)) == "1n"  # rounded up to nano
    with pytest.raises(ValueError):
        Quantity("1").with_format("Binary")  # type: ignore[arg-type]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("text", ["1536Mi", "0.5Ki", "250264852n", "12e6", "-1500m", "0", "1e999"])
def test_pickle_keeps_value_and_format(protocol: int, text: str) -> None:
    q = Quantity(text)
    back = pickle.loads(pickle.dumps(q, protocol=protocol))
    assert back == q
    assert back.format == q.format
    assert str(back) == str(q)
    assert type(back) is Quantity


def test_copy_returns_the_same_immutable_object() -> None:
    q = Quantity("1Gi")
    assert copy.copy(q) is q
    assert copy.deepcopy(q) is q


def test_immutable() -> None:
    q = Quantity("1")
    with pytest.raises(AttributeError):
        q.value = 3  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        q.foo = 1  # type: ignore[attr-defined]


def test_module_identity() -> None:
    assert Quantity.__module__ == "kubemetrics"
    assert kubemetrics.Quantity is kubemetrics._native.Quantity
    assert Quantity.__doc__ and "exact Kubernetes resource quantity" in Quantity.__doc__
