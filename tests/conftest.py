"""Fixtures shared by the test modules (helpers that build studies live in `factories`)."""

from __future__ import annotations

import matplotlib
import pytest

# The figure tests draw in this process and write files: Agg, set here and not through MPLBACKEND, which
# subprocesses would inherit (an executed notebook under MPLBACKEND=Agg would hold no image).
matplotlib.use("Agg")


@pytest.fixture
def one_torch_thread():
    """Tiny CPU workloads run several times faster on one intra-op thread on a shared machine (two
    threads collapse when the other core is busy). Use with ``pytestmark =
    pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
