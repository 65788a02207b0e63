/*
 * pc-conf-defaults: prints the configuration `{}` stands for, every key at
 * its default, as indented JSON. `make install` runs it to write
 * /usr/share/doc/portcullis/examples/portcullis.json, so the example comes
 * from the same field tables the daemons load and cannot drift from them.
 * Not installed.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "pcconf.h"

int
main(int argc, char **argv)
{
	struct pc_conf c;
	char *text, *out;
	json_t *root;
	json_error_t err;
	int rc = 1;

	if (argc != 1) {
		fprintf(stderr, "usage: %s\n", argv[0]);
		return 2;
	}
	if (pcconf_load(NULL, &c) != 0)
		return 1;
	text = conf_dump_json(&pcconf_table, &c);
	pcconf_free(&c);
	if (text == NULL) {
		fprintf(stderr, "pc-conf-defaults: conf_dump_json failed\n");
		return 1;
	}
	/* Re-read so that what is installed is known to be valid JSON, and
	 * indented for people whatever conf_dump_json's layout is. */
	root = json_loads(text, 0, &err);
	if (root == NULL) {
		fprintf(stderr,
		    "pc-conf-defaults: dump is not JSON: %s (%d:%d)\n",
		    err.text, err.line, err.column);
		goto out;
	}
	out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (out == NULL)
		goto out;
	if (puts(out) != EOF && fflush(stdout) == 0)
		rc = 0;
	free(out);
out:
	free(text);
	return rc;
}
