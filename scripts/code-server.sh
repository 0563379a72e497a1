#!/bin/sh
# Install code-server (VS Code in a browser, from npm) for `make test-vscode`,
# once, into $HOTFIX_VSCODE_CACHE (default ~/.cache/hotfix-vscode), and print
# the path of its executable.  Offline except for the npm registry:
#  - as root, npm runs install scripts only with --unsafe-perm=true;
#  - its native modules build against node's own headers (/usr/include/node)
#    and Debian's libkrb5-dev;
#  - @vscode/ripgrep's install script downloads rg from GitHub unless the
#    download is already in its cache ($TMPDIR/vscode-ripgrep-cache-VERSION):
#    we put Debian's /usr/bin/rg there, packed as the file it expects.
set -eu
VERSION=4.100.3
RIPGREP_PKG=1.15.11          # @vscode/ripgrep in code-server 4.100.3's shrinkwrap
RIPGREP_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
CACHE=${HOTFIX_VSCODE_CACHE:-$HOME/.cache/hotfix-vscode}
DIR=$CACHE/code-server-$VERSION
BIN=$DIR/node_modules/.bin/code-server

if [ -x "$BIN" ] && [ -f "$DIR/.complete" ]; then
    echo "$BIN"
    exit 0
fi
for tool in node npm rg; do
    command -v $tool >/dev/null || { echo "code-server.sh: $tool is missing (make deps-vscode)" >&2; exit 1; }
done
rm -rf "$DIR"
mkdir -p "$DIR/tmp/vscode-ripgrep-cache-$RIPGREP_PKG"
tar czf "$DIR/tmp/vscode-ripgrep-cache-$RIPGREP_PKG/$RIPGREP_ASSET" -C "$(dirname "$(command -v rg)")" rg
echo '{"name": "hotfix-code-server", "private": true}' > "$DIR/package.json"
echo "code-server.sh: installing code-server $VERSION from npm into $DIR (a few minutes)" >&2
# node-gyp builds against the installed node's headers, not a download.
[ -f /usr/include/node/node.h ] && export npm_config_nodedir=/usr
(cd "$DIR" && TMPDIR="$DIR/tmp" npm_config_yes=true npm install --unsafe-perm=true --no-audit --no-fund \
    --loglevel=error "code-server@$VERSION" >"$DIR/install.log" 2>&1) || {
    tail -n 40 "$DIR/install.log" >&2
    echo "code-server.sh: npm install of code-server failed; the log is $DIR/install.log" >&2
    exit 1
}
touch "$DIR/.complete"
echo "$BIN"
