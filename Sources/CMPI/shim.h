/* Open MPI for Swift: only with the package trait MPI (swift build --traits MPI).
 * Open MPI's handles (MPI_COMM_WORLD, MPI_BYTE, MPI_STATUS_IGNORE, ...) are
 * macros over the addresses of its globals, which Swift does not import: these
 * inline functions hand them over. */
#ifndef TASKHOST_CMPI_SHIM_H
#define TASKHOST_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm thmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype thmpi_byte(void) { return MPI_BYTE; }
static inline MPI_Status *thmpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Errhandler thmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int thmpi_any_source(void) { return MPI_ANY_SOURCE; }
static inline int thmpi_any_tag(void) { return MPI_ANY_TAG; }
static inline int thmpi_max_processor_name(void) { return MPI_MAX_PROCESSOR_NAME; }
static inline int thmpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }

#endif
