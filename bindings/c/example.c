/* The hourly question, asked through the C ABI: load a policy, open a session, decide.
 * Usage: example MODEL REQUEST.json */
#include "arbpolicy.h"

#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, arbp_status status) {
    char message[512];
    arbp_last_error(message, sizeof message);
    fprintf(stderr, "%s failed: %s\n  %s\n", what, arbp_status_str(status), message);
    return 1;
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
    arbp_model *model = NULL;
    arbp_status status = arbp_model_load_file(argv[1], &model);
    if (status != ARBP_OK) return fail("loading the model", status);
    arbp_session *session = NULL;
    status = arbp_session_new(model, &session);
    if (status != ARBP_OK) return fail("opening a session", status);

    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    char request[1 << 16];
    size_t len = fread(request, 1, sizeof request, f);
    fclose(f);

    size_t needed = 0;
    arbp_decide_json(session, request, len, NULL, 0, &needed); /* ask the size */
    char *decision = malloc(needed);
    status = arbp_decide_json(session, request, len, decision, needed, &needed);
    if (status != ARBP_OK) return fail("deciding", status);
    printf("arbpolicy %s decided:\n%s\n", arbp_version_string(), decision);

    free(decision);
    arbp_session_free(session);
    arbp_model_free(model);
    return 0;
}
