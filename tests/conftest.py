import os

# Tests share 2 cores with Ray workers; one torch thread each keeps them from fighting.
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
