/*
 * taskhost-forkserver — started by the TaskHost library with its socket on
 * descriptor 3. Runs no threads, so fork() is safe here (DESIGN.md).
 */
#include <th_forkserver.h>

int main(void) { return th__forkserver_main(3); }
