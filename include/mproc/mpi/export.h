/* The export macro of libmproc_mpi (built with -fvisibility=hidden, as libmproc is). */
#ifndef MPROC_MPI_EXPORT_H
#define MPROC_MPI_EXPORT_H

#if defined(MPROC_MPI_BUILDING_LIBRARY)
#define MPROC_MPI_API __attribute__((visibility("default")))
#else
#define MPROC_MPI_API
#endif

#endif /* MPROC_MPI_EXPORT_H */
