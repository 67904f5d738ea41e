/*
 * taskhost/cluster.h — a th_pool whose workers span the ranks of an MPI job
 * (Open MPI 4.1), for C programs launched with mpirun.
 *
 * th_cluster_pool_new is the only new call: the pool it makes is a th_pool,
 * and taskhost.h's th_pool_map, th_pool_starmap, th_pool_apply,
 * th_pool_close, th_pool_join, th_pool_terminate and th_pool_free run on it
 * with the same signatures, the same results (byte for byte the same values)
 * and the same per-item errors as on one machine. Each rank runs its own
 * pool of forked workers (th_pool_options.processes per rank), so a crash,
 * exit, timeout or memory limit fails that item only, its error message
 * names the host and MPI rank it ran on, and the job goes on.
 *
 * Build (needs Open MPI: apt-get install openmpi-bin libopenmpi-dev):
 *
 *     swift build --traits MPI --build-path .build/mpi
 *     cc -I include my.c -L .build/mpi/debug -Wl,-rpath,$PWD/.build/mpi/debug -lTaskHostCluster
 *     mpirun -np 3 ./my
 *
 * libTaskHostCluster.so holds all of taskhost.h's C API as well, and links
 * Open MPI: link it INSTEAD of libTaskHost.so, never beside it. It finds the
 * fork server and the plugins from where it is, as libTaskHost.so does
 * (taskhost.h, WHERE THINGS ARE FOUND). libTaskHost.so itself never needs
 * MPI. Built without the package trait MPI, libTaskHostCluster.so still
 * exists (it is taskhost.h's API) and th_cluster_pool_new fails with
 * systemError saying how to build it.
 *
 * Every rank runs the same program:
 *
 *     #include <taskhost/taskhost.h>
 *     #include <taskhost/cluster.h>
 *
 *     th_host *host = th_host_new(NULL, &error);   // before th_cluster_pool_new: the fork server starts before MPI
 *     th_pool_options options;
 *     th_pool_options_init(&options);
 *     options.processes = 2;                       // per rank
 *     th_pool *pool = NULL;
 *     if (th_cluster_pool_new(host, &options, &pool, &error) != 0) { ... }
 *     if (!pool) { th_host_free(host); return 0; } // a worker rank: its part is done
 *     th_pool_map(pool, "square", args, count, &results, &error);   // rank 0 only from here on
 *     ...
 *     th_pool_close(pool);
 *     th_pool_join(pool);                          // every rank has closed its part
 *     th_pool_free(pool);
 *
 * Only rank 0 holds the pool: it hands chunks of each call out on demand (a
 * slow host gets fewer), runs its own share, and gathers the results in
 * input order. The paths a task gets are opened on whichever rank runs it:
 * the same files at the same paths on every host (a shared filesystem).
 * MPI is started on the first th_cluster_pool_new (MPI_Init_thread,
 * serialized, unless the program started it) and finalized when the process
 * exits; MPI errors are returned, never MPI's default abort of the job. A
 * rank whose process dies aborts the whole job under mpirun's defaults (see
 * the README, "Running on a cluster").
 */
#ifndef TASKHOST_CLUSTER_H
#define TASKHOST_CLUSTER_H

#include "taskhost.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Starts this rank's part of a pool that spans every rank of MPI_COMM_WORLD.
 * Every rank must call it, with the same options; `options` may be NULL for
 * the defaults and means what it means for th_pool_new, per rank (chunksize:
 * items per chunk sent to a rank; 0: Python's rule over all ranks' workers).
 *
 * On rank 0: returns 0 with a new pool in *pool (free with th_pool_free) once
 * every rank's workers are up. On every other rank: serves rank 0's calls
 * until rank 0 closes the pool (th_pool_close, th_pool_join, th_pool_free or
 * exit), then returns 0 with *pool set to NULL (also when this rank's
 * workers could not start: rank 0 then says why on its stderr and gives
 * this rank no items). On failure (a NULL host or pool, bad options:
 * invalidArgument; MPI, or rank 0's workers, could not start: systemError)
 * returns -1 and *error, as th_pool_new.
 */
TH_EXTERN int th_cluster_pool_new(th_host *host, const th_pool_options *options, th_pool **pool, th_error **error);

#ifdef __cplusplus
}
#endif

#endif /* TASKHOST_CLUSTER_H */
