"""Shared test configuration: hypothesis profiles chosen by HYPOTHESIS_PROFILE.

- dev  (default): random, 50 examples.
- ci   : derandomized (reproducible), 30 examples, no deadline (2-core CI machine).
- fuzz : 2000 examples, for long local hunts (tests/test_fuzz.py: 6000; ci runs 300 of those).
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci", max_examples=30, derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("fuzz", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def _numpy_errors_loud():
    """Any floating-point warning inside a test is an error."""
    with np.errstate(all="raise"):
        yield
