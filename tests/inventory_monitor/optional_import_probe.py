"""A library module with an optional import, for tests/inventory_monitor/test_memory.py."""

try:
    import csv
except ImportError:
    csv = None
