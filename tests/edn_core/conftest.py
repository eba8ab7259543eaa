import pytest

# The contract suites are plain modules that test modules subclass: have pytest rewrite their
# asserts too, so a failure shows the values compared.
pytest.register_assert_rewrite("tests.edn_core.transport_contract", "tests.edn_core.dapr_contract")
