"""Scenario-file protocol entries of the wrong type fail with a message naming the field
(found by the hostile-input fuzzer: a list as 'kind' escaped as a TypeError)."""

import pytest

from oncoscale.analysis.metrics import metric
from oncoscale.errors import InputError
from oncoscale.numerics.time_schemes import scheme_class
from oncoscale.run.protocols import parse_event


@pytest.mark.parametrize("kind", [[1.0, 2.0], {"a": 1}, None, 3, "injektion"])
def test_event_kind_of_any_type_is_an_input_error(kind):
    with pytest.raises(InputError, match=r"'protocol\.0\.kind'.*allowed: .*injection"):
        parse_event({"kind": kind, "start": 1.0}, "protocol.0")


@pytest.mark.parametrize("name", [["imex"], {"imex": 1}, 2])
def test_registry_lookups_reject_unhashable_names(name):
    with pytest.raises(InputError, match="allowed"):
        scheme_class(name)
    with pytest.raises(InputError, match="allowed"):
        metric(name)
