'use strict';
// End to end in a real VS Code: code-server (VS Code in the browser, from
// npm) driven through Debian's headless Chromium with playwright-core.
//
// The test installs the packaged extension (hotfix-VERSION.vsix), opens a
// copy of examples/ and starts the debug configuration of the type the
// extension contributes (hotfix-lldb-dap: Debian's lldb-dap-19) that
// examples/.vscode/launch.json ships: the plugin loaded by initCommands, the
// game built by a preLaunchTask, hotfix.applyOnSave on in settings.json.
// It edits src/jump.c in the editor and saves it, and passes when the
// notification shows hotfix's summary and the game's own output in the
// Debug Console changes ("airborne!") while the frame count goes on; then a
// save with a syntax error shows the compiler's error and the game keeps
// running; and "Hotfix: Apply Current File" from the command palette saves
// and applies a third edit.
//
// Run by `make test-vscode` (scripts/test-vscode.sh), which sets
// HOTFIX_CODE_SERVER (scripts/code-server.sh installs it) and HOTFIX_VSIX.
const test = require('node:test');
const assert = require('node:assert');
const childProcess = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const REPO = path.resolve(__dirname, '..', '..');
const CODE_SERVER = process.env.HOTFIX_CODE_SERVER;
const VSIX = process.env.HOTFIX_VSIX;
const CHROMIUM = process.env.HOTFIX_CHROMIUM || '/usr/bin/chromium';
const KEEP = process.env.HOTFIX_KEEP_TMP === '1';

function killProgramsUnder(dir) {
    for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
        let exe;
        try {
            exe = fs.readlinkSync(`/proc/${pid}/exe`);
        } catch (e) {
            continue;
        }
        if (exe.startsWith(dir + path.sep)) {
            try {
                process.kill(Number(pid), 'SIGKILL');
            } catch (e) {
                // already gone
            }
        }
    }
}

function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
        server.on('error', reject);
    });
}

function copyExample(dest) {
    fs.cpSync(path.join(REPO, 'examples', 'jump'), dest, {
        recursive: true,
        filter: (src) => !['obj', 'build', 'jump', 'compile_commands.json'].includes(path.basename(src)) ||
            src === path.join(REPO, 'examples', 'jump'),
    });
}

function writeJson(file, value) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

async function waitFor(what, fn, timeoutMs, page, shots) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
        try {
            last = await fn();
            if (last) {
                return last;
            }
        } catch (e) {
            last = e;
        }
        await new Promise((r) => setTimeout(r, 250));
    }
    if (page) {
        await page.screenshot({ path: path.join(shots, 'timeout.png') }).catch(() => {});
    }
    throw new Error(`timed out waiting for ${what} (screenshot in ${shots}); last: ${last}`);
}

// The text of the Debug Console's rows (it is a virtual list: the rows
// shown, which follow the newest output).
function consoleText(page) {
    return page.evaluate(() => {
        const rows = document.querySelectorAll('.repl .monaco-list-row');
        return Array.from(rows).map((r) => r.textContent).join('\n');
    });
}

function notifications(page) {
    return page.evaluate(() => Array.from(document.querySelectorAll('.notification-list-item-message'))
        .map((n) => n.textContent).join('\n'));
}

async function clearNotifications(page, shots) {
    await runCommand(page, 'Notifications: Clear All Notifications');
    await waitFor('the notifications to go', async () => (await notifications(page)) === '', 10000, page, shots);
}

function lastFrame(text) {
    const frames = [...text.matchAll(/frame (\d+):/g)].map((m) => Number(m[1]));
    return frames.length ? Math.max(...frames) : -1;
}

const QUICK_INPUT = '.quick-input-widget .quick-input-box input';

// Type `text` into Quick Open (Ctrl+P; ">" lists commands, "debug " launch
// configurations, ":" lines) and choose the row whose label has `label`.
// Retried: early on, the workbench may not list everything yet.
async function quickOpen(page, text, label) {
    for (let attempt = 1; ; attempt++) {
        await page.keyboard.press('Control+P');
        await page.waitForSelector(QUICK_INPUT, { state: 'visible' });
        await page.fill(QUICK_INPUT, text);
        try {
            await page.waitForSelector(`.quick-input-list .monaco-list-row[aria-label*="${label}"]`, { timeout: 10000 });
            await page.keyboard.press('Enter');
            return;
        } catch (e) {
            await page.keyboard.press('Escape');
            if (attempt === 3) {
                throw e;
            }
        }
    }
}

function runCommand(page, title) {
    return quickOpen(page, '>' + title, title);
}

async function openFile(page, relative) {
    const tab = `.tabs-container .tab[aria-label*="${path.basename(relative)}"]`;
    if (await page.$(tab)) {
        await page.click(tab);
    } else {
        await quickOpen(page, relative, path.basename(relative));
    }
    await page.waitForSelector(tab + '.active', { timeout: 15000 });
    await page.click('.editor-group-container.active .monaco-editor .view-lines');
}

// Replace line `line` (1-based) of the active editor with `text`, as typed.
async function replaceLine(page, line, text) {
    await page.keyboard.press('Control+G');
    await page.waitForSelector(QUICK_INPUT, { state: 'visible' });
    await page.fill(QUICK_INPUT, ':' + line);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Home');          // first non-blank character
    await page.keyboard.press('Shift+End');
    await page.keyboard.type(text);
}

test('code-server: save an edited file while debugging; the running game changes', { timeout: 600000 }, async (t) => {
    assert.ok(CODE_SERVER && fs.existsSync(CODE_SERVER), 'HOTFIX_CODE_SERVER must name code-server (make test-vscode)');
    assert.ok(VSIX && fs.existsSync(VSIX), 'HOTFIX_VSIX must name the packaged extension (make vsix)');
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install chromium)`);

    // The workspace: a copy of examples/ (the game and its .vscode folder:
    // launch.json, tasks.json, settings.json with hotfix.applyOnSave) beside
    // links to the plugin, as in the repository.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hotfix-vscode-'));
    const shots = path.join(tmp, 'screenshots');
    fs.mkdirSync(shots);
    const root = path.join(tmp, 'hotfix');
    for (const dir of ['gdb', 'lldb', 'hotfix', 'native']) {
        fs.mkdirSync(root, { recursive: true });
        fs.symlinkSync(path.join(REPO, dir), path.join(root, dir));
    }
    const ws = path.join(root, 'examples');
    fs.cpSync(path.join(REPO, 'examples', '.vscode'), path.join(ws, '.vscode'), { recursive: true });
    const game = path.join(ws, 'jump');
    copyExample(game);              // not built: the preLaunchTask builds it
    const launch = JSON.parse(fs.readFileSync(path.join(ws, '.vscode', 'launch.json'), 'utf8'));
    const config = launch.configurations.find((c) => c.type === 'hotfix-lldb-dap');
    assert.ok(config, 'examples/.vscode/launch.json has a hotfix-lldb-dap configuration');
    assert.strictEqual(JSON.parse(fs.readFileSync(path.join(ws, '.vscode', 'settings.json'), 'utf8'))['hotfix.applyOnSave'],
        true);
    const source = fs.readFileSync(path.join(game, 'src', 'jump.c'), 'utf8').split('\n');
    const labelLine = source.findIndex((l) => l.includes('"rising" : "falling"')) + 1;
    assert.ok(labelLine > 0, 'src/jump.c has the line to edit');

    const home = path.join(tmp, 'home');
    const userData = path.join(tmp, 'user-data');
    const extensions = path.join(tmp, 'extensions');
    writeJson(path.join(userData, 'User', 'settings.json'), {
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'security.workspace.trust.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'update.mode': 'none',
        'debug.internalConsoleOptions': 'openOnSessionStart',
        'files.autoSave': 'off',
        // Typing in the editor exactly what the test types.
        'editor.autoClosingBrackets': 'never',
        'editor.autoClosingQuotes': 'never',
        'editor.autoIndent': 'none',
        'editor.quickSuggestions': { other: 'off', comments: 'off', strings: 'off' },
        'editor.suggestOnTriggerCharacters': false,
        'editor.acceptSuggestionOnCommitCharacter': false,
        'editor.wordBasedSuggestions': 'off',
        'editor.parameterHints.enabled': false,
    });
    const env = {
        ...process.env,
        HOME: home,
        XDG_CONFIG_HOME: path.join(home, '.config'),
        XDG_DATA_HOME: path.join(home, '.local', 'share'),
        XDG_CACHE_HOME: path.join(home, '.cache'),
        // LLDB's Python (in lldb-dap) takes its home from the first python3
        // on PATH; a pyenv one lacks Debian's pyelftools.
        PYTHONHOME: '/usr',
    };
    delete env.JUMP_FAST;
    fs.mkdirSync(home, { recursive: true });
    const common = ['--user-data-dir', userData, '--extensions-dir', extensions];

    childProcess.execFileSync(CODE_SERVER, [...common, '--install-extension', VSIX], { env, stdio: 'inherit' });
    const listed = childProcess.execFileSync(CODE_SERVER, [...common, '--list-extensions'], { env }).toString();
    assert.match(listed, /^hotfix\.hotfix$/m, 'the extension is installed');

    const port = await freePort();
    const serverLog = fs.openSync(path.join(tmp, 'code-server.log'), 'w');
    const server = childProcess.spawn(CODE_SERVER, [...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
        '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
        '--disable-getting-started-override', '--ignore-last-opened', ws],
    { env, stdio: ['ignore', serverLog, serverLog], detached: true });
    let browser;
    t.after(async () => {
        if (browser) {
            await browser.close().catch(() => {});
        }
        try {
            process.kill(-server.pid, 'SIGTERM');
        } catch (e) {
            // already gone
        }
        // The game the debug session launched outlives code-server and its
        // debugger: end every process whose program lies in this test's folder.
        killProgramsUnder(tmp);
        if (!KEEP) {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });
    await waitFor('code-server to listen', () => new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
            socket.end();
            resolve(true);
        });
        socket.on('error', () => resolve(false));
    }), 60000);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    // The explorer shows the folder once the workbench is up.
    await page.waitForSelector('.explorer-folders-view', { timeout: 60000 });
    await page.screenshot({ path: path.join(shots, '1-workbench.png') });

    try {
        // Start debugging (the one launch configuration); the game prints a frame
        // every 100 ms into the Debug Console.
        await quickOpen(page, 'debug ' + config.name, config.name);
        await waitFor('the game to print frame 5 in the Debug Console (built by the preLaunchTask)', async () =>
            lastFrame(await consoleText(page)) >= 5, 60000, page, shots);
        const before = await consoleText(page);
        assert.doesNotMatch(before, /airborne/);
        assert.match(before, /state=rising/);
        await page.screenshot({ path: path.join(shots, '2-running.png') });

        // Edit src/jump.c in the editor and save it: apply on save.
        await openFile(page, 'src/jump.c');
        await replaceLine(page, labelLine, 'return p->vy > 0.0 ? "airborne!" : "falling";');
        const savedAt = lastFrame(await consoleText(page));
        await page.keyboard.press('Control+S');
        await waitFor('the edit to be saved', () =>
            fs.readFileSync(path.join(game, 'src', 'jump.c'), 'utf8').includes('"airborne!"'), 15000, page, shots);
        const summary = await waitFor('the hotfix notification', async () => {
            const text = await notifications(page);
            return /hotfix: .*src\/jump\.c: 1 function redirected \(jump_label\)/.test(text) ? text : false;
        }, 60000, page, shots);
        assert.doesNotMatch(summary, /error/i);
        await waitFor('the game to print "airborne!"', async () => /state=airborne!/.test(await consoleText(page)),
            30000, page, shots);
        const after = await consoleText(page);
        assert.ok(lastFrame(after) > savedAt, 'the game went on: frame numbers kept counting');
        // No restart: the frame count carries on past the frame at save time.
        const airborne = [...after.matchAll(/frame (\d+): [^\n]*state=airborne!/g)].map((m) => Number(m[1]));
        assert.ok(airborne.length && Math.min(...airborne) > savedAt, `"airborne!" only after the save: ${after}`);
        await page.screenshot({ path: path.join(shots, '3-patched.png') });

        // A save that does not compile: the error is shown, the game keeps going.
        await clearNotifications(page, shots);
        await openFile(page, 'src/jump.c');           // the pause may have shown another place
        await replaceLine(page, labelLine, 'return p->vy > 0.0 ? "airborne!" : "falling"');   // no ';'
        await page.keyboard.press('Control+S');
        const error = await waitFor('the compile error notification', async () => {
            const text = await notifications(page);
            return /hotfix: compiling .*src\/jump\.c failed: .*error/.test(text) ? text : false;
        }, 60000, page, shots);
        assert.ok(error);
        const atError = lastFrame(await consoleText(page));
        await waitFor('the game to keep running after the failed hotfix', async () =>
            lastFrame(await consoleText(page)) > atError + 3, 30000, page, shots);
        assert.match(await consoleText(page), /state=airborne!/);
        await page.screenshot({ path: path.join(shots, '4-error.png') });

        // The command, from the palette: put the ';' back without saving,
        // then "Hotfix: Apply Current File" saves and applies it.
        await clearNotifications(page, shots);
        await openFile(page, 'src/jump.c');
        await replaceLine(page, labelLine, 'return p->vy > 0.0 ? "rising!" : "falling";');
        await page.keyboard.press('Escape');
        await runCommand(page, 'Hotfix: Apply Current File');
        await waitFor('the command\'s summary', async () =>
            /hotfix: .*src\/jump\.c: 1 function redirected \(jump_label\)/.test(await notifications(page)),
        60000, page, shots);
        await waitFor('the game to print "rising!"', async () => /state=rising!/.test(await consoleText(page)),
            30000, page, shots);
        await page.screenshot({ path: path.join(shots, '5-command.png') });
        // One apply: the command's own save is not applied again on save.
        await new Promise((r) => setTimeout(r, 2000));
        const shown = (await notifications(page)).split('\n').filter((l) => l.startsWith('hotfix:'));
        assert.strictEqual(shown.length, 1, `one hotfix notification: ${shown.join(' | ')}`);

    } catch (e) {
        await page.screenshot({ path: path.join(shots, 'failed.png') }).catch(() => {});
        e.message += ` (screenshots in ${shots})`;
        throw e;
    }
    await runCommand(page, 'Debug: Stop');
});
