/*
 * The sandbox through the C API (README "Sandbox"): a pool whose workers may
 * write only beneath argv[3], and a sandboxed process. Usage:
 * sandbox_embedding ESCAPE_PLUGIN ALLOWED_FILE WRITABLE_FOLDER. Prints one
 * line per check; exits 1 at the first that fails.
 */
#include <taskhost/taskhost.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok, const char *what) {
    printf("%s %s\n", ok ? "ok" : "FAILED", what);
    if (!ok) exit(1);
}

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    th_error *error = NULL;
    th_host_options host_options;
    th_host_options_init(&host_options);
    const char *plugins[] = {argv[1]};
    host_options.plugin_files = plugins;
    host_options.plugin_file_count = 1;
    th_host *host = th_host_new(&host_options, &error);
    check(host != NULL, "a host with the escape plugin");

    const char *readable[] = {argv[2]};
    const char *writable[] = {argv[3]};
    th_sandbox sandbox;
    th_sandbox_init(&sandbox);
    sandbox.allow_read = readable;
    sandbox.allow_read_count = 1;
    sandbox.allow_write = writable;
    sandbox.allow_write_count = 1;
    th_pool_options options;
    th_pool_options_init(&options);
    options.processes = 1;
    options.chunksize = 1;
    options.sandbox = &sandbox;
    th_pool *pool = th_pool_new(host, &options, &error);
    check(pool != NULL, "a sandboxed pool");

    char inside[4096];
    snprintf(inside, sizeof inside, "%s/from_c.txt", argv[3]);
    th_value args[] = {
        th_string("read"), th_string("/etc/passwd"), th_string("read"), th_string(argv[2]),
        th_string("write"), th_string(inside), th_string("fork"), th_string(""),
    };
    th_results *results = NULL;
    check(th_pool_starmap(pool, "escape.attempt", args, 4, 2, &results, &error) == 0, "starmap in the sandbox");
    const th_error *denied = th_results_error(results, 0);
    check(denied && th_error_kind_of(denied) == TH_ERR_TASK_ERROR &&
              strstr(th_error_message(denied), "cannot open /etc/passwd: Permission denied") != NULL,
          "reading /etc/passwd fails with EACCES");
    check(th_results_value(results, 1) && th_results_value(results, 1)->as.i64 == 8, "the allowed file is read");
    check(th_results_value(results, 2) && th_results_value(results, 2)->as.i64 == 8, "the writable folder is written");
    const th_error *fork_error = th_results_error(results, 3);
    check(fork_error && th_error_kind_of(fork_error) == TH_ERR_SANDBOX_VIOLATION &&
              strcmp(th_error_kind_name(TH_ERR_SANDBOX_VIOLATION), "sandboxViolation") == 0 &&
              strstr(th_error_message(fork_error), "was stopped by the sandbox: it called clone while running") != NULL,
          "fork fails its item with sandboxViolation");
    th_results_free(results);
    th_pool_close(pool);
    th_pool_join(pool);
    th_pool_free(pool);

    th_value fork_args[] = {th_string("fork"), th_string("")};
    th_process *process = th_process_new_sandboxed(host, "escape.attempt", fork_args, 2, &sandbox, &error);
    check(process != NULL && th_process_start(process, &error) == 0, "a sandboxed process starts");
    th_process_join(process, -1);
    int code = 0;
    check(th_process_exit_code(process, &code) == 1 && code == -31, "it dies of SIGSYS");
    th_process_free(process);

    sandbox.allow_read = NULL; /* a count without paths */
    options.sandbox = &sandbox;
    check(th_pool_new(host, &options, &error) == NULL && th_error_kind_of(error) == TH_ERR_INVALID_ARGUMENT,
          "allow_read NULL with a count is refused");
    th_error_free(error);
    th_host_free(host);
    return 0;
}
