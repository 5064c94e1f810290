/* Latency of arbp_decide from C: a request of 100 opportunities and 3 open positions, 100,000
 * calls timed one by one; prints the median and the 99th percentile.
 * Usage: bench_decide MODEL [CALLS] */
#define _POSIX_C_SOURCE 199309L
#include "arbpolicy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void set_name(char *field, const char *name) {
    memset(field, 0, ARBP_NAME_SIZE);
    strncpy(field, name, ARBP_NAME_SIZE - 1);
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [CALLS]\n", argv[0]);
        return 2;
    }
    int calls = argc > 2 ? atoi(argv[2]) : 100000;
    static const char *coins[] = {"BTC", "ETH", "SOL", "DOGE", "XRP", "ADA", "AVAX", "LINK", "DOT", "LTC"};
    static const char *venues[] = {"binance", "bybit", "okx", "hyperliquid"};

    arbp_opportunity opps[ARBP_MAX_OPPORTUNITIES];
    for (int i = 0; i < ARBP_MAX_OPPORTUNITIES; i++) {
        arbp_opportunity *o = &opps[i];
        memset(o, 0, sizeof *o);
        o->struct_size = sizeof *o;
        set_name(o->symbol, coins[i % 10]);
        set_name(o->long_leg.exchange, venues[i % 4]);
        set_name(o->short_leg.exchange, venues[(i + 1 + i / 40) % 4]);
        double price = 10.0 + 97.0 * (i % 10), spread = 0.0001 * (1 + i % 7);
        o->long_leg.price = price;
        o->short_leg.price = price * (1 + spread / 10);
        o->long_leg.funding_rate = 0.00001 * (i % 5);
        o->short_leg.funding_rate = 0.00001 * (i % 5) + spread;
        o->long_leg.funding_interval_hours = (i % 3 == 0) ? 1 : 8;
        o->short_leg.funding_interval_hours = (i % 2 == 0) ? 4 : 8;
        o->fund_profit_8h_24h_proj = spread;
        o->fund_profit_8h_3d_proj = spread * 0.8;
        o->spread_30_sample_avg = 0.04;
        o->price_spread_24h_avg = 0.05;
        o->price_spread_3d_avg = 0.05;
        o->spread_volatility_stddev = 0.02;
        o->volume_24h = 1e8 * (1 + i % 13);
        o->bid_ask_spread_percent = 0.01;
        o->orderbook_depth = 1e6 * (1 + i % 5);
    }
    arbp_position pos[3];
    for (int j = 0; j < 3; j++) {
        arbp_position *p = &pos[j];
        memset(p, 0, sizeof *p);
        p->struct_size = sizeof *p;
        set_name(p->symbol, coins[j + 3]);
        set_name(p->long_leg.exchange, venues[j % 4]);
        set_name(p->short_leg.exchange, venues[(j + 2) % 4]);
        p->long_leg.entry_price = p->long_leg.price = 5.0 + j;
        p->short_leg.entry_price = p->short_leg.price = (5.0 + j) * 1.0002;
        p->long_leg.funding_rate = 0.00001;
        p->short_leg.funding_rate = 0.0001;
        p->long_leg.funding_interval_hours = p->short_leg.funding_interval_hours = 8;
        p->position_size_usd = 400;
        p->leverage = 2;
        p->entry_time_ms = 1764547200000LL - (10 + j) * 3600000LL;
    }
    arbp_request r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.opportunities = opps;
    r.opportunity_count = ARBP_MAX_OPPORTUNITIES;
    r.positions = pos;
    r.position_count = 3;
    r.portfolio.struct_size = sizeof r.portfolio;
    r.portfolio.total_capital = r.portfolio.initial_capital = r.portfolio.peak_capital = 10000;
    r.portfolio.day_start_capital = 10000;
    arbp_config_default(&r.config);
    r.now_ms = 1764547200000LL;

    arbp_model *model = NULL;
    arbp_session *session = NULL;
    if (arbp_model_load_file(argv[1], &model) != ARBP_OK || arbp_session_new(model, &session) != ARBP_OK) {
        char message[512];
        arbp_last_error(message, sizeof message);
        fprintf(stderr, "%s\n", message);
        return 1;
    }
    arbp_decision d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    double *samples = malloc(sizeof(double) * (size_t)calls);
    for (int i = 0; i < calls / 10; i++) arbp_decide(session, &r, &d); /* warm up */
    for (int i = 0; i < calls; i++) {
        double t = now_us();
        if (arbp_decide(session, &r, &d) != ARBP_OK) return 1;
        samples[i] = now_us() - t;
    }
    qsort(samples, (size_t)calls, sizeof(double), compare);
    printf("arbp_decide from C (native model, 100 opportunities, 3 positions, %d calls): median %.2f us, p99 %.2f us"
           " (decided %s)\n",
           calls, samples[calls / 2], samples[(int)(calls * 0.99)], d.action_name);
    free(samples);
    arbp_session_free(session);
    arbp_model_free(model);
    return 0;
}
