"""pytest set-up shared by the unit tests and the notebooks (run with nbval).

Notebooks run in the ``ci`` profile unless ``BN_TEST_PROFILE`` names another, and cached runs go
to a fresh temporary folder, so a test never reuses a run computed by older code. These are
set here, before any kernel starts, so kernels inherit them.
"""

import os
import tempfile

os.environ["BN_PROFILE"] = os.environ.get("BN_TEST_PROFILE", "ci")
os.environ.setdefault("BN_RUNS_DIR", tempfile.mkdtemp(prefix="bn-landscape-runs-"))
os.environ.setdefault("MPLBACKEND", "Agg")
