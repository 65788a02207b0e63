/*
 * prom: statistics in the Prometheus text exposition format, and the
 * optional loopback HTTP listener serving them at /metrics. Rendered text
 * is malloc'd and owned by the caller.
 */
#ifndef PC_PROM_H
#define PC_PROM_H

#include <jansson.h>

struct cmd_ctx;
struct ev_loop;

/* stats as produced by cmd_stats(): {"processes":{...}, "edge":{...}}. */
char *prom_render(const json_t *stats);

struct prom_http;
/* Listens on "ADDR:PORT"; NULL with errno on failure. */
struct prom_http *prom_http_new(
    struct ev_loop *loop, struct cmd_ctx *x, const char *addr);
void prom_http_free(struct prom_http *h);

#endif
