/*
 * fuzz_ctl_rows: arbitrary bytes as ctl rows from a sibling. The reader
 * must never read past the buffer, and what it accepts must rebuild,
 * through the builder, into exactly the bytes it consumed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ctl_rows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_reader rd;
	struct ctl_field f;
	size_t cap = size + 16;
	uint8_t *out = malloc(cap);
	if (out == NULL)
		return 0;
	struct ctl_rows b;
	ctl_rows_init(&b, out, cap);
	ctl_reader_init(&rd, data, size);
	int rc;
	char name[256];
	while ((rc = ctl_reader_next(&rd, &f)) == 1) {
		memcpy(name, f.name.p, f.name.len);
		name[f.name.len] = '\0';
		/* A name with a NUL inside cannot be rebuilt from a C string;
		 * stop comparing there. */
		if (strlen(name) != f.name.len)
			goto done;
		switch (f.type) {
		case CTL_T_END:
			ctl_rows_end_row(&b);
			break;
		case CTL_T_STR:
			ctl_rows_strn(&b, name, f.str.p, f.str.len);
			break;
		case CTL_T_U64:
			ctl_rows_u64(&b, name, f.u64);
			break;
		case CTL_T_I64:
			ctl_rows_i64(&b, name, f.i64);
			break;
		case CTL_T_BOOL:
			ctl_rows_bool(&b, name, f.u64 != 0);
			break;
		}
	}
	size_t consumed = size - rd.left;
	if (b.overflow || b.len != consumed || memcmp(out, data, consumed))
		abort();
	if (rc == 0 && rd.left != 0)
		abort();
done:;
	struct slice s;
	uint64_t u;
	ctl_rows_get_str(data, size, "aor", &s);
	ctl_rows_get_u64(data, size, "limit", &u);
	free(out);
	return 0;
}
