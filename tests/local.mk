# tests/: shared test files (integration scripts are found by scripts/test.sh)

# Benchmark (run by hand, tests/bench/regmem/run.sh): core's memory per
# registration, driving core.sock as the edge does.
noinst_PROGRAMS += tests/bench/regmem/regmem
tests_bench_regmem_regmem_SOURCES = tests/bench/regmem/regmem.c
tests_bench_regmem_regmem_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(OPENSSL_CFLAGS)
tests_bench_regmem_regmem_LDADD = $(CORE_LIBS)
