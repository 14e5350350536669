.PHONY: setup check test demo crds bench
setup:
	bash scripts/setup.sh
check test:
	bash scripts/test.sh
demo:
	bash scripts/demo.sh
crds: setup
	.venv/bin/odahu-batch crds --out crds/
bench: setup
	.venv/bin/python bench/bench_compile.py
	.venv/bin/python bench/bench_validate.py
	.venv/bin/python bench/bench_run.py
	.venv/bin/python bench/bench_memory.py
	.venv/bin/python bench/bench_shard.py
