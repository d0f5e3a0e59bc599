"""Imported first by every benchmark: single-threaded BLAS before numpy loads.

Multi-threaded OpenBLAS made scipy 20-90x slower on small problems on the 2-core machines these
benchmarks were measured on, so the references run single-threaded, at their best.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"
