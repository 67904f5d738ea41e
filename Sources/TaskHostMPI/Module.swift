// The module of ClusterPool: every source file here is `#if MPI` (the package trait MPI, off by default), so without it the module is empty and nothing needs Open MPI.
