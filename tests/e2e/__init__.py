# A package, so that pytest imports tests/e2e/conftest.py as `e2e.conftest`: tests/py's modules do
# `from conftest import ...`, which must keep meaning tests/py/conftest.py when both suites run in one
# pytest process (scripts/pytest-suites.sh). The e2e modules import their helpers (harness,
# metrics_stack) as top-level modules: conftest.py puts this directory on sys.path.
