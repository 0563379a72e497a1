# hotfix: fix-and-continue for C in GDB and LLDB.
#   make            build native/libhotfix.so (needed before loading the plugin) and the core's bytecode
#   make demo       install what is missing, then patch the example game live under GDB
#   make test       install what is missing, build, and run every test (but test-vscode)
#   make stress     200 alternating patches under 8 threads, in GDB and LLDB
#   make bench      hotfix latency against the bare compiler (bench/results/RESULTS.md)
#   make vsix       package the VS Code extension (vscode/hotfix-VERSION.vsix)
#   make test-vscode  the extension end to end in a real VS Code (code-server)
#   make vscode-screenshots  the same, writing the README's screenshots into docs/
#   make test-lldb16  the LLDB end-to-end tests under LLDB 16 (unpacked, not installed)
#   make test-realworld  real programs from Debian's sources, patched live (tests/realworld)
#   make install    install under $(PREFIX) (default /usr/local)
PREFIX ?= /usr/local
PYTHON ?= /usr/bin/python3
SHARE = $(PREFIX)/share/hotfix

# The core's bytecode too: LLDB never writes it (sys.dont_write_bytecode), so
# without it every LLDB session would compile the core on its first hotfix.
all:
	$(MAKE) -C native
	$(PYTHON) -m compileall -q hotfix

deps:
	scripts/deps.sh

demo: deps
	$(MAKE) all
	scripts/demo.sh

test: deps
	$(MAKE) all
	$(MAKE) -C native check
	@if command -v node >/dev/null; then cd vscode && node --test test/; \
	else echo "make test: node is not installed: the VS Code extension's unit tests are skipped"; fi
	$(PYTHON) -m pytest -q tests

# The VS Code extension: npm packages from vscode/package-lock.json.
VSIX_VERSION = $(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' vscode/package.json)

vscode/node_modules/.package-lock.json: vscode/package.json vscode/package-lock.json
	cd vscode && npm ci --no-audit --no-fund --loglevel=error

vsix: vscode/node_modules/.package-lock.json
	cd vscode && node --test test/
	cd vscode && npx vsce package --no-dependencies --skip-license --allow-missing-repository \
		--out hotfix-$(VSIX_VERSION).vsix

test-vscode:
	scripts/test-vscode.sh

# The README's VS Code screenshots (docs/vscode-*.png), taken by that test.
vscode-screenshots:
	HOTFIX_DOC_SCREENSHOTS=$(CURDIR)/docs scripts/test-vscode.sh

test-lldb16:
	scripts/test-lldb16.sh

# Downloads (apt-get source) and builds go to ~/.cache/hotfix-realworld.
test-realworld:
	scripts/deps.sh realworld
	$(MAKE) all
	$(PYTHON) -m pytest -q tests/realworld --realworld

stress: deps
	$(MAKE) all
	$(PYTHON) tests/e2e/soak.py gdb lldb

bench: deps
	$(MAKE) all
	$(PYTHON) bench/bench.py $(BENCH_FLAGS)

install: all
	install -d $(SHARE)/hotfix $(SHARE)/gdb $(SHARE)/lldb $(SHARE)/native
	install -m 644 hotfix/*.py $(SHARE)/hotfix/
	install -m 644 gdb/hotfix_gdb.py $(SHARE)/gdb/
	install -m 644 lldb/hotfix_lldb.py $(SHARE)/lldb/
	install -m 755 native/libhotfix.so $(SHARE)/native/
	$(PYTHON) -m compileall -q $(SHARE)/hotfix
	@echo "hotfix installed.  Add to ~/.gdbinit:  source $(SHARE)/gdb/hotfix_gdb.py"
	@echo "                 and to ~/.lldbinit: command script import $(SHARE)/lldb/hotfix_lldb.py"

uninstall:
	rm -rf $(SHARE)

clean:
	$(MAKE) -C native clean
	$(MAKE) -C examples/jump clean

.PHONY: all deps demo test stress bench vsix test-vscode vscode-screenshots test-lldb16 test-realworld install uninstall clean
