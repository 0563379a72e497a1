#!/bin/sh
# make test-vscode: the extension's end-to-end test in a real VS Code
# (code-server from npm, driven through Debian's headless Chromium).
# Installs what is missing first: Debian packages (scripts/deps.sh vscode),
# the extension's npm packages (npm ci in vscode/), code-server (cached in
# ~/.cache/hotfix-vscode by scripts/code-server.sh).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh vscode
make all
make vsix
HOTFIX_CODE_SERVER=$(scripts/code-server.sh)
HOTFIX_VSIX=$(ls "$PWD"/vscode/hotfix-*.vsix | tail -n 1)
export HOTFIX_CODE_SERVER HOTFIX_VSIX
cd vscode
exec node --test e2e/
