# tests/: shared test files (integration scripts are found by scripts/test.sh)
