/*
 * fuzz_conf: arbitrary text as portcullis.json. Loading must end in a
 * configuration or in error lines, never a crash; a configuration that
 * loads must dump to JSON that loads again to the same dump; and the
 * position scanner must survive any text.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_pos.h"
#include "pcconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct pc_conf c;
	struct conf_errors errs;
	if (conf_load_string(
	        text, size, "fuzz.json", &pcconf_table, &c, &errs) == 0) {
		if (errs.n != 0)
			abort();
		char *d = conf_dump_json(&pcconf_table, &c);
		if (d == NULL)
			abort();
		struct pc_conf c2;
		struct conf_errors e2;
		if (conf_load_string(
		        d, strlen(d), "dump", &pcconf_table, &c2, &e2) != 0) {
			/* Masked secrets may not satisfy their own checks,
			 * anything else must reload. */
			if (strstr(d, "********") == NULL) {
				conf_errors_print(&e2, stderr);
				abort();
			}
		} else {
			char *d2 = conf_dump_json(&pcconf_table, &c2);
			if (d2 == NULL || strcmp(d, d2) != 0)
				abort();
			free(d2);
			pcconf_free(&c2);
		}
		conf_errors_free(&e2);
		free(d);
		pcconf_free(&c);
	} else {
		if (errs.n == 0 || c.listen != NULL)
			abort();
		for (size_t i = 0; i < errs.n; i++)
			if (strncmp(errs.msg[i], "fuzz.json:", 10) != 0)
				abort();
	}
	conf_errors_free(&errs);

	struct conf_pos p = {0};
	conf_pos_scan(&p, text, size);
	unsigned line, col;
	conf_pos_find(&p, "listen[0].port", false, &line, &col);
	conf_pos_free(&p);
	return 0;
}
