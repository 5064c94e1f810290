/* Tests of the C ABI against the generated header.
 *
 * Usage: test_arbpolicy MODEL.onnx MODEL.arbpnet REQUEST.json
 * Prints one line per check and closes with "N passed, N failed"; exits non-zero on any failure.
 */
#include "arbpolicy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (cond) {                                       \
            passed++;                                     \
        } else {                                          \
            failed++;                                     \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);   \
            printf(__VA_ARGS__);                          \
            printf("\n");                                 \
        }                                                 \
    } while (0)

static const char *last_error(void) {
    static char buf[1024];
    arbp_last_error(buf, sizeof buf);
    return buf;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) n = 0;
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static void set_name(char *field, const char *name) {
    memset(field, 0, ARBP_NAME_SIZE);
    strncpy(field, name, ARBP_NAME_SIZE - 1);
}

static arbp_opportunity opportunity(const char *coin, const char *lo, const char *sh, double price,
                                    double long_rate, double short_rate, double volume) {
    arbp_opportunity o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    set_name(o.symbol, coin);
    set_name(o.long_leg.exchange, lo);
    set_name(o.short_leg.exchange, sh);
    o.long_leg.price = price;
    o.short_leg.price = price * 1.0003;
    o.long_leg.funding_rate = long_rate;
    o.short_leg.funding_rate = short_rate;
    o.long_leg.funding_interval_hours = 8;
    o.short_leg.funding_interval_hours = 8;
    o.fund_profit_8h_24h_proj = short_rate - long_rate;
    o.fund_profit_8h_3d_proj = (short_rate - long_rate) * 0.9;
    o.spread_30_sample_avg = 0.04;
    o.price_spread_24h_avg = 0.05;
    o.price_spread_3d_avg = 0.05;
    o.spread_volatility_stddev = 0.02;
    o.volume_24h = volume;
    o.bid_ask_spread_percent = 0.01;
    o.orderbook_depth = volume / 200;
    return o;
}

/* A request: three opportunities, one open position, 10,000 USD. */
static arbp_opportunity opps[3];
static arbp_position pos[1];

static arbp_request make_request(void) {
    opps[0] = opportunity("BTC", "binance", "bybit", 97250.5, 0.0001, 0.0004, 2.1e9);
    opps[1] = opportunity("ETH", "okx", "bybit", 3412.8, -0.00005, 0.0002, 9.5e8);
    opps[2] = opportunity("SOL", "bybit", "okx", 201.44, 0.00002, 0.00015, 3.2e8);
    memset(pos, 0, sizeof pos);
    pos[0].struct_size = sizeof pos[0];
    set_name(pos[0].symbol, "DOGE");
    set_name(pos[0].long_leg.exchange, "binance");
    set_name(pos[0].short_leg.exchange, "okx");
    pos[0].long_leg.entry_price = 0.3841;
    pos[0].long_leg.price = 0.3850;
    pos[0].short_leg.entry_price = 0.3843;
    pos[0].short_leg.price = 0.3851;
    pos[0].long_leg.funding_rate = 0.00001;
    pos[0].short_leg.funding_rate = 0.00008;
    pos[0].long_leg.funding_interval_hours = 8;
    pos[0].short_leg.funding_interval_hours = 8;
    pos[0].position_size_usd = 300;
    pos[0].leverage = 3;
    pos[0].funding_received_usd = 0.5;
    pos[0].fees_paid_usd = 0.6;
    pos[0].entry_time_ms = 1764547200000LL - 20 * 3600000LL;

    arbp_request r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.opportunities = opps;
    r.opportunity_count = 3;
    r.positions = pos;
    r.position_count = 1;
    r.portfolio.struct_size = sizeof r.portfolio;
    r.portfolio.total_capital = 10000;
    r.portfolio.initial_capital = 10000;
    r.portfolio.peak_capital = 10000;
    r.portfolio.day_start_capital = 10000;
    arbp_config_default(&r.config);
    r.now_ms = 1764547200000LL;
    return r;
}

static void check_decision(const arbp_decision *d, const char *what) {
    CHECK(d->action_index < ARBP_ACTION_COUNT, "%s: action %u", what, d->action_index);
    CHECK(d->mask[d->action_index] == 1, "%s: the chosen action is allowed", what);
    CHECK(strcmp(d->action_name, arbp_action_name(d->action_index)) == 0, "%s: name %s", what, d->action_name);
    double total = 0;
    int masked_zero = 1;
    for (int i = 0; i < ARBP_ACTION_COUNT; i++) {
        total += d->probabilities[i];
        if (!d->mask[i] && d->probabilities[i] != 0.0f) masked_zero = 0;
    }
    CHECK(fabs(total - 1.0) < 1e-5, "%s: probabilities sum to %f", what, total);
    CHECK(masked_zero, "%s: forbidden actions have probability exactly 0", what);
    CHECK(d->probability == d->probabilities[d->action_index], "%s: the chosen probability", what);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.onnx MODEL.arbpnet REQUEST.json\n", argv[0]);
        return 2;
    }
    const char *onnx_path = argv[1], *native_path = argv[2], *request_path = argv[3];

    /* Versions. */
    CHECK(arbp_abi_version() == ARBP_ABI_VERSION, "ABI %u vs header %d", arbp_abi_version(), ARBP_ABI_VERSION);
    CHECK(strlen(arbp_version_string()) > 0, "version string");
    CHECK(strncmp(arbp_status_str(ARBP_OK), "ARBP_OK", 7) == 0, "status text");
    CHECK(strcmp(arbp_status_str(12345), "unknown status") == 0, "unknown status text");

    /* Loading: both kinds, by path and by bytes, and refusals. */
    arbp_model *onnx = NULL, *native = NULL, *bad = NULL;
    CHECK(arbp_model_load_file(onnx_path, &onnx) == ARBP_OK, "load ONNX: %s", last_error());
    CHECK(arbp_model_load_file(native_path, &native) == ARBP_OK, "load native: %s", last_error());
    size_t model_len = 0;
    char *model_bytes = read_file(onnx_path, &model_len);
    arbp_model *from_bytes = NULL;
    CHECK(arbp_model_load_bytes((const uint8_t *)model_bytes, model_len, &from_bytes) == ARBP_OK, "load bytes");
    CHECK(arbp_model_load_bytes((const uint8_t *)model_bytes, model_len / 2, &bad) == ARBP_INVALID_MODEL,
          "truncated ONNX refused");
    CHECK(bad == NULL, "no model out of a failure");
    CHECK(strstr(last_error(), "arbp_model_load_bytes") != NULL, "message names the call: %s", last_error());
    CHECK(arbp_model_load_bytes((const uint8_t *)"not a model", 11, &bad) == ARBP_INVALID_MODEL, "garbage refused");
    CHECK(arbp_model_load_file("/nonexistent/model.onnx", &bad) == ARBP_IO_ERROR, "missing file");
    CHECK(arbp_model_load_file(NULL, &bad) == ARBP_NULL_POINTER, "NULL path");
    CHECK(arbp_model_load_file(onnx_path, NULL) == ARBP_NULL_POINTER, "NULL out");
    free(model_bytes);

    arbp_session *s_onnx = NULL, *s_native = NULL;
    CHECK(arbp_session_new(onnx, &s_onnx) == ARBP_OK, "session ONNX");
    CHECK(arbp_session_new(native, &s_native) == ARBP_OK, "session native");
    CHECK(arbp_session_new(NULL, &s_native) == ARBP_NULL_POINTER, "session of NULL model");

    /* Decisions through structs: native and ONNX agree. */
    arbp_request r = make_request();
    arbp_decision a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.struct_size = b.struct_size = sizeof a;
    CHECK(arbp_decide(s_native, &r, &a) == ARBP_OK, "decide native: %s", last_error());
    CHECK(arbp_decide(s_onnx, &r, &b) == ARBP_OK, "decide ONNX: %s", last_error());
    check_decision(&a, "native");
    check_decision(&b, "onnx");
    CHECK(a.action_index == b.action_index, "native %s vs ONNX %s", a.action_name, b.action_name);
    float worst = 0;
    for (int i = 0; i < ARBP_ACTION_COUNT; i++) worst = fmaxf(worst, fabsf(a.probabilities[i] - b.probabilities[i]));
    CHECK(worst < 1e-5f, "probabilities agree within 1e-5 (%g)", worst);
    CHECK(a.override_reason == ARBP_OVERRIDE_NONE, "no override");
    if (a.action_index >= 1 && a.action_index <= 30) {
        CHECK(a.opportunity_index >= 0 && a.opportunity_index < 3, "entry names an opportunity");
        CHECK(a.size_usd > 0 && a.leverage >= 1, "entry size and leverage");
    }

    /* A stop-loss breach is exited first, whatever the model. */
    arbp_request hurt = make_request();
    pos[0].long_leg.price = 0.30;
    pos[0].short_leg.price = 0.40;
    arbp_decision forced;
    memset(&forced, 0, sizeof forced);
    forced.struct_size = sizeof forced;
    CHECK(arbp_decide(s_native, &hurt, &forced) == ARBP_OK, "decide with a breach: %s", last_error());
    CHECK(forced.action_index == 31 && forced.position_index == 0, "forced exit of slot 0, got %s", forced.action_name);
    CHECK(forced.override_reason != ARBP_OVERRIDE_NONE, "the override is named");
    CHECK(strcmp(forced.coin, "DOGE") == 0, "the exited coin: %s", forced.coin);
    r = make_request();

    /* Bad requests: a status, a message, and the decision untouched. */
    arbp_decision sentinel;
    memset(&sentinel, 0x5a, sizeof sentinel);
    sentinel.struct_size = sizeof sentinel;
    arbp_decision d = sentinel;
    arbp_request nan_config = r;
    nan_config.config.settings.max_leverage = NAN;
    CHECK(arbp_decide(s_native, &nan_config, &d) == ARBP_INVALID_INPUT, "NaN leverage refused");
    CHECK(strstr(last_error(), "max_leverage") != NULL, "message names the field: %s", last_error());
    CHECK(memcmp(&d, &sentinel, sizeof d) == 0, "no partial success");
    arbp_request too_many = r;
    too_many.opportunity_count = ARBP_MAX_OPPORTUNITIES + 1;
    CHECK(arbp_decide(s_native, &too_many, &d) == ARBP_INVALID_ARGUMENT, "101 opportunities refused");
    arbp_request null_array = r;
    null_array.opportunities = NULL;
    CHECK(arbp_decide(s_native, &null_array, &d) == ARBP_NULL_POINTER, "NULL array with a count");
    arbp_request wrong_size = r;
    wrong_size.struct_size = 8;
    CHECK(arbp_decide(s_native, &wrong_size, &d) == ARBP_INVALID_ARGUMENT, "wrong struct_size");
    opps[1].long_leg.exchange[0] = 0;
    CHECK(arbp_decide(s_native, &r, &d) == ARBP_INVALID_INPUT, "empty exchange name: %s", last_error());
    opps[1] = opportunity("ETH", "okx", "bybit", 3412.8, -0.00005, 0.0002, 9.5e8);
    memset(opps[2].symbol, 'X', ARBP_NAME_SIZE);
    CHECK(arbp_decide(s_native, &r, &d) == ARBP_INVALID_INPUT, "unterminated name: %s", last_error());
    r = make_request();
    pos[0].leverage = INFINITY;
    CHECK(arbp_decide(s_native, &r, &d) == ARBP_INVALID_INPUT, "infinite position leverage: %s", last_error());
    r = make_request();
    CHECK(arbp_decide(NULL, &r, &d) == ARBP_NULL_POINTER, "NULL session");
    CHECK(arbp_decide(s_native, NULL, &d) == ARBP_NULL_POINTER, "NULL request");
    CHECK(memcmp(&d, &sentinel, sizeof d) == 0, "still untouched");

    /* JSON. */
    size_t json_len = 0;
    char *json = read_file(request_path, &json_len);
    size_t needed = 0;
    CHECK(arbp_decide_json(s_native, json, json_len, NULL, 0, &needed) == ARBP_BUFFER_TOO_SMALL, "size query");
    CHECK(needed > 100 && needed <= ARBP_DECISION_JSON_MAX, "needed %zu, bound %d", needed, ARBP_DECISION_JSON_MAX);
    /* Room to spare: the ONNX answer below may print its probabilities with more digits. */
    char *answer = malloc(needed + 4096);
    size_t again = 0;
    CHECK(arbp_decide_json(s_native, json, json_len, answer, needed, &again) == ARBP_OK, "JSON: %s", last_error());
    CHECK(again == needed && strlen(answer) + 1 == needed, "the answer fills what it asked for");
    CHECK(strstr(answer, "\"action_probabilities\"") != NULL, "the answer is a decision");
    char small[8];
    memset(small, 'z', sizeof small);
    CHECK(arbp_decide_json(s_native, json, json_len, small, sizeof small, &again) == ARBP_BUFFER_TOO_SMALL,
          "small buffer");
    CHECK(small[0] == 'z', "a small buffer is left untouched");
    CHECK(arbp_decide_json(s_native, "{\"opportunities\": [", 19, answer, needed, &again) == ARBP_MALFORMED_JSON,
          "malformed JSON");
    CHECK(arbp_decide_json(s_native, "\xff\xfe", 2, answer, needed, &again) == ARBP_INVALID_UTF8, "not UTF-8");
    CHECK(arbp_decide_json(s_onnx, json, json_len, answer, needed + 4096, &again) == ARBP_OK, "JSON through ONNX: %s",
          last_error());
    free(answer);
    free(json);

    /* The raw network. */
    float obs[ARBP_OBSERVATION_LEN], l1[ARBP_ACTION_COUNT], l2[ARBP_ACTION_COUNT], v1 = 0, v2 = 0;
    for (int i = 0; i < ARBP_OBSERVATION_LEN; i++) obs[i] = (float)((i * 37 % 101) - 50) / 50.0f;
    CHECK(arbp_session_forward(s_native, obs, ARBP_OBSERVATION_LEN, NULL, l1, ARBP_ACTION_COUNT, &v1) == ARBP_OK,
          "forward native");
    CHECK(arbp_session_forward(s_onnx, obs, ARBP_OBSERVATION_LEN, NULL, l2, ARBP_ACTION_COUNT, &v2) == ARBP_OK,
          "forward ONNX");
    worst = fabsf(v1 - v2);
    for (int i = 0; i < ARBP_ACTION_COUNT; i++) worst = fmaxf(worst, fabsf(l1[i] - l2[i]));
    CHECK(worst < 1e-5f, "native and ONNX outputs within 1e-5 (%g)", worst);
    CHECK(arbp_session_forward(s_native, obs, 274, NULL, l1, ARBP_ACTION_COUNT, &v1) == ARBP_INVALID_ARGUMENT,
          "wrong obs_len");
    obs[7] = NAN;
    CHECK(arbp_session_forward(s_native, obs, ARBP_OBSERVATION_LEN, NULL, l1, ARBP_ACTION_COUNT, &v1) ==
              ARBP_INVALID_INPUT, "NaN observation");

    /* Helpers. */
    arbp_config c;
    CHECK(arbp_config_default(&c) == ARBP_OK && c.struct_size == sizeof c, "default config");
    CHECK(arbp_config_validate(&c) == ARBP_OK, "default config is valid");
    c.settings.liquidation_buffer = 0.5;
    CHECK(arbp_config_validate(&c) == ARBP_INVALID_INPUT, "buffer out of range");
    CHECK(strstr(last_error(), "liquidation_buffer") != NULL, "named: %s", last_error());
    arbp_config_default(&c);
    double size = 0, leverage = 0;
    CHECK(arbp_position_size(&c, 10000, 0, &size, &leverage) == ARBP_OK, "position size");
    /* capital x utilisation / max positions x 10 %, at the user's leverage (the default 3x starts 30 % from
     * liquidation, beyond the 15 % buffer and its 5 % room). */
    double expected = 10000 * c.settings.target_utilization / c.settings.max_positions * 0.1;
    CHECK(fabs(size - expected) < 1e-9 && fabs(leverage - c.settings.max_leverage) < 1e-9, "size %f (expected %f) leverage %f",
          size, expected, leverage);
    CHECK(arbp_position_size(&c, 10000, 3, &size, &leverage) == ARBP_INVALID_ARGUMENT, "tier 3 refused");
    CHECK(arbp_position_size(&c, -1, 0, &size, &leverage) == ARBP_INVALID_INPUT, "negative capital refused");
    double long_liq = 0, short_liq = 0;
    CHECK(arbp_liquidation_prices(100, 100, 3, &long_liq, &short_liq) == ARBP_OK, "liquidation prices");
    CHECK(fabs(long_liq - 70) < 1e-9 && fabs(short_liq - 130) < 1e-9, "70 and 130, got %f %f", long_liq, short_liq);
    CHECK(arbp_liquidation_prices(100, NAN, 3, &long_liq, &short_liq) == ARBP_INVALID_INPUT, "NaN price");
    CHECK(strcmp(arbp_action_name(0), "HOLD") == 0, "HOLD");
    CHECK(arbp_action_name(ARBP_ACTION_COUNT) == NULL, "no action 36");
    uint8_t mask[ARBP_ACTION_COUNT];
    CHECK(arbp_action_mask(&r, mask, ARBP_ACTION_COUNT) == ARBP_OK, "mask: %s", last_error());
    CHECK(mask[0] == 1 && memcmp(mask, a.mask, sizeof mask) == 0, "the mask the decision was taken under");
    CHECK(arbp_action_mask(&r, mask, 35) == ARBP_INVALID_ARGUMENT, "wrong mask length");

    /* The model may go before its sessions. */
    arbp_model_free(native);
    CHECK(arbp_decide(s_native, &r, &a) == ARBP_OK, "a session outlives its model");
    arbp_session_free(s_native);
    arbp_session_free(s_onnx);
    arbp_model_free(onnx);
    arbp_model_free(from_bytes);
    arbp_model_free(NULL);
    arbp_session_free(NULL);

    printf("C ABI tests: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
