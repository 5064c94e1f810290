/* The hourly question, asked through the C ABI: load a policy, open a session, decide.
 * Usage: example MODEL REQUEST.json
 * Every path out of main frees what was allocated before it. */
#include "arbpolicy.h"

#include <stdio.h>

static void report(const char *what, arbp_status status) {
    char message[512];
    arbp_last_error(message, sizeof message);
    fprintf(stderr, "%s failed: %s\n  %s\n", what, arbp_status_str(status), message);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL REQUEST.json\n", argv[0]);
        return 2;
    }
    if (arbp_abi_version() != ARBP_ABI_VERSION) {
        fprintf(stderr, "library ABI %u, header %d\n", arbp_abi_version(), ARBP_ABI_VERSION);
        return 1;
    }
    static char request[1 << 16];
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    size_t len = fread(request, 1, sizeof request, f);
    int truncated = !feof(f);
    fclose(f);
    if (truncated) {
        fprintf(stderr, "%s: larger than %zu bytes\n", argv[2], sizeof request);
        return 1;
    }

    int rc = 1;
    arbp_model *model = NULL;
    arbp_session *session = NULL;
    arbp_status status = arbp_model_load_file(argv[1], &model);
    if (status != ARBP_OK) {
        report("loading the model", status);
        goto done;
    }
    status = arbp_session_new(model, &session);
    if (status != ARBP_OK) {
        report("opening a session", status);
        goto done;
    }
    /* A buffer of ARBP_DECISION_JSON_MAX bytes always holds the answer: one call. */
    static char decision[ARBP_DECISION_JSON_MAX];
    size_t needed = 0;
    status = arbp_decide_json(session, request, len, decision, sizeof decision, &needed);
    if (status != ARBP_OK) {
        report("deciding", status);
        goto done;
    }
    printf("arbpolicy %s decided:\n%s\n", arbp_version_string(), decision);
    rc = 0;
done:
    arbp_session_free(session);
    arbp_model_free(model);
    return rc;
}
