"""A library module that imports a class it only instantiates, for tests/inventory_monitor/test_memory.py."""

from fractions import Fraction


def half():
    return Fraction(1, 2)
