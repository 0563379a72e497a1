'use strict';
// End to end in a real VS Code: code-server (VS Code in the browser, from
// npm) driven through Debian's headless Chromium with playwright-core.
//
// The test installs the packaged extension (hotfix-VERSION.vsix), opens a
// copy of examples/ and starts the debug configuration of the type the
// extension contributes (hotfix-lldb-dap: Debian's lldb-dap-19) that
// examples/.vscode/launch.json ships: the plugin loaded by initCommands, the
// game built by a preLaunchTask, hotfix.applyOnSave on in settings.json.
// What it checks, from what the page shows:
//  * saving an edit of src/jump.c applies it: the notification shows
//    hotfix's summary naming jump/src/jump.c (relative to the workspace),
//    the game's own output in the Debug Console changes while its frame
//    count goes on, the status bar item counts 1 patch; the user stays where
//    they were (the same tabs, the file active, the cursor and scroll), and
//    VS Code shows the program running (no stop of hotfix's own);
//  * a save that does not compile: the error is in the Problems panel at
//    the compiler's line and column and squiggled on that line, the status
//    item shows the failure, the game keeps running; "Hotfix: Apply Current
//    File" from the palette applies the fix and the Problems are cleared;
//  * the palette's Dry Run (the plan in the Hotfix output, the game
//    unchanged), Status, Revert All (the game's own code again, 0 patches),
//    Revert Current File (nothing left to revert);
//  * with hotfix.pauseQuietly off (VS Code sees the pause, as with adapters
//    the extension does not run itself), the debug toolbar's Apply Code
//    Changes button applies an edit, and the tab VS Code opened for the
//    stopped frame is closed and the editor put back.
// Screenshots of each step stay in the test's folder when it fails (its
// path is in the message); HOTFIX_DOC_SCREENSHOTS=DIR also writes the
// README's two (make vscode-screenshots: docs/).
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
// Retried: early on, the workbench may not list everything yet.  Where the
// focus swallows Ctrl+P (the Debug Console's input, now and then), the
// title bar's search box opens it.
async function quickOpen(page, text, label) {
    for (let attempt = 1; ; attempt++) {
        await page.keyboard.press('Control+P');
        try {
            await page.waitForSelector(QUICK_INPUT, { state: 'visible', timeout: 5000 });
        } catch (e) {
            await page.click('.command-center');
            await page.waitForSelector(QUICK_INPUT, { state: 'visible' });
        }
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

// The accessible label of the extension's status bar item ("1 patch, last
// hotfix succeeded").
function statusItem(page) {
    return page.evaluate(() => {
        const items = Array.from(document.querySelectorAll('.part.statusbar [aria-label]'));
        const ours = items.find((e) => /^\d+ patch(es)?\b/.test(e.getAttribute('aria-label')));
        return ours ? ours.getAttribute('aria-label') : '';
    });
}

// The status bar's problem count ("Errors: 1, Warnings: 0" or similar).
function problemCount(page) {
    return page.evaluate(() => {
        const item = document.getElementById('status.problems');
        if (!item) {
            return '';
        }
        const labelled = item.getAttribute('aria-label') ? item : item.querySelector('[aria-label]');
        return (labelled && labelled.getAttribute('aria-label')) || item.textContent;
    });
}

// Where the user is: the open tabs, the active one, the cursor (the status
// bar's "Ln 35, Col 47") and the first line shown in the editor.
function cursorPosition(page) {
    return page.evaluate(() => {
        const tabs = Array.from(document.querySelectorAll('.tabs-container .tab')).map((t) => t.getAttribute('aria-label'));
        const active = document.querySelector('.editor-group-container.active .tabs-container .tab.active');
        const selection = document.getElementById('status.editor.selection');
        const editor = document.querySelector('.editor-group-container.active .monaco-editor');
        const numbers = editor ? Array.from(editor.querySelectorAll('.margin-view-overlays .line-numbers'))
            .map((n) => Number(n.textContent)).filter((n) => n > 0) : [];
        return {
            tabs,
            active: active ? active.getAttribute('aria-label') : '',
            selection: selection ? selection.textContent : '',
            firstLine: numbers.length ? Math.min(...numbers) : 0,
        };
    });
}

// The same, once the workbench has caught up with the typing (the status
// bar's cursor position is updated a moment later).
async function settledPosition(page) {
    let last = await cursorPosition(page);
    for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 250));
        const now = await cursorPosition(page);
        if (JSON.stringify(now) === JSON.stringify(last)) {
            return now;
        }
        last = now;
    }
    return last;
}

// After a hotfix: the same tabs, the same file active with the same cursor
// and scroll, and VS Code showing the program running (the debug toolbar
// offers Pause, not Continue).
async function expectUserStillEditing(page, before, shots) {
    await waitFor('the debug toolbar to show the program running', async () =>
        !!(await page.$('.debug-toolbar .action-label[aria-label^="Pause"]')) &&
        !(await page.$('.debug-toolbar .action-label[aria-label^="Continue"]')), 10000, page, shots);
    await new Promise((r) => setTimeout(r, 500));
    const now = await settledPosition(page);
    assert.deepStrictEqual(now, before, 'the user is where they were before the hotfix');
    assert.ok(/jump\.c/.test(now.active), `the saved file is the active tab: ${now.active}`);
}

// The line numbers of the active editor's lines that carry an error squiggle.
function squiggleLines(page) {
    return page.evaluate(() => {
        const editor = document.querySelector('.editor-group-container.active .monaco-editor');
        if (!editor) {
            return [];
        }
        const numberAt = new Map(Array.from(editor.querySelectorAll('.margin-view-overlays > div'))
            .map((d) => [d.style.top, Number(d.textContent)]));
        const lines = Array.from(editor.querySelectorAll('.view-overlays .squiggly-error'))
            .map((s) => numberAt.get(s.parentElement.style.top));
        return [...new Set(lines)].sort((a, b) => a - b);
    });
}

function problemRows(page) {
    return page.evaluate(() => Array.from(document.querySelectorAll('.markers-panel .monaco-list-row'))
        .map((r) => r.textContent).join('\n'));
}

// The text of the Output view (the Hotfix channel, shown by the commands).
function outputText(page) {
    return page.evaluate(() => {
        const view = document.querySelector('.part.panel .output-view .monaco-editor .view-lines') ||
            document.querySelector('.part.panel .monaco-editor .view-lines');
        return view ? view.innerText.replace(/\u00a0/g, ' ') : '';      // the editor draws spaces as &nbsp;
    });
}

// The Debug Console in the panel (where the game's lines are read), the
// focus back in the editor.
async function showDebugConsole(page, shots) {
    await runCommand(page, 'Debug Console: Focus on Debug Console View');
    await waitFor('the Debug Console', async () => (await consoleText(page)) !== '', 10000, page, shots);
    await page.keyboard.press('Control+1');
}

// A screenshot for the README (HOTFIX_DOC_SCREENSHOTS names the folder).
async function docShot(page, name) {
    if (process.env.HOTFIX_DOC_SCREENSHOTS) {
        await page.screenshot({ path: path.join(process.env.HOTFIX_DOC_SCREENSHOTS, name) });
    }
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
    const staticLine = source.indexOf('static int jumps_made;') + 1;
    assert.ok(staticLine > 0, 'src/jump.c has the static to change');

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
        await waitFor('the status bar item', async () => /^0 patches$/.test(await statusItem(page)), 15000, page, shots);
        await waitFor('the Apply Code Changes button in the debug toolbar', () =>
            page.$('.debug-toolbar .action-label[aria-label^="Apply Code Changes"]'), 15000, page, shots);
        await page.screenshot({ path: path.join(shots, '2-running.png') });

        // Edit src/jump.c in the editor and save it: apply on save.  The
        // program is paused, patched and resumed without VS Code showing
        // the stop: the editor stays on the file, scrolled and selected as
        // it was; no other tab opens; the debug toolbar offers Pause.
        await openFile(page, 'jump/src/jump.c');
        await replaceLine(page, labelLine, 'return p->vy > 0.0 ? "airborne!" : "falling";');
        const savedAt = lastFrame(await consoleText(page));
        const cursor = await settledPosition(page);
        await page.keyboard.press('Control+S');
        await waitFor('the edit to be saved', () =>
            fs.readFileSync(path.join(game, 'src', 'jump.c'), 'utf8').includes('"airborne!"'), 15000, page, shots);
        const summary = await waitFor('the hotfix notification', async () => {
            const text = await notifications(page);
            return /hotfix: jump\/src\/jump\.c: 1 function redirected \(jump_label\)/.test(text) ? text : false;
        }, 60000, page, shots);
        assert.doesNotMatch(summary, /error/i);
        assert.doesNotMatch(summary, new RegExp(tmp), 'the notification names the file relative to the workspace');
        await waitFor('the game to print "airborne!"', async () => /state=airborne!/.test(await consoleText(page)),
            30000, page, shots);
        const after = await consoleText(page);
        assert.ok(lastFrame(after) > savedAt, 'the game went on: frame numbers kept counting');
        // No restart: the frame count carries on past the frame at save time.
        const airborne = [...after.matchAll(/frame (\d+): [^\n]*state=airborne!/g)].map((m) => Number(m[1]));
        assert.ok(airborne.length && Math.min(...airborne) > savedAt, `"airborne!" only after the save: ${after}`);
        await expectUserStillEditing(page, cursor, shots);
        await waitFor('the status bar item to count 1 patch', async () => /^1 patch, last hotfix succeeded$/.test(
            await statusItem(page)), 15000, page, shots);
        await page.screenshot({ path: path.join(shots, '3-patched.png') });
        await docShot(page, 'vscode-patched.png');

        // A save that does not compile: the error is in the Problems panel
        // and squiggled in the editor at the compiler's line and column; the
        // game keeps going.
        await clearNotifications(page, shots);
        await replaceLine(page, labelLine, 'return p->vy > 0.0 ? "airborne!" : "falling"');   // no ';'
        const atSave = await settledPosition(page);
        await page.keyboard.press('Control+S');
        const error = await waitFor('the compile error notification', async () => {
            const text = await notifications(page);
            // The compiler's words name the file as its command does (from jump/).
            return /hotfix: compiling src\/jump\.c failed: src\/jump\.c:\d+:\d+: error: expected/.test(text)
                ? text : false;
        }, 60000, page, shots);
        assert.doesNotMatch(error, new RegExp(tmp));
        await expectUserStillEditing(page, atSave, shots);
        await waitFor('one error in the status bar\'s problem count', async () =>
            /^1 error/i.test(await problemCount(page)) || /Errors?: 1\b/.test(await problemCount(page)), 15000, page, shots);
        const squiggle = await waitFor('a squiggle on the edited line', async () => {
            const lines = await squiggleLines(page);
            return lines.length ? lines : false;
        }, 15000, page, shots);
        assert.deepStrictEqual(squiggle, [labelLine], 'the squiggle is on the line the compiler names');
        const atError = lastFrame(await consoleText(page));
        await waitFor('the game to keep running after the failed hotfix', async () =>
            lastFrame(await consoleText(page)) > atError + 3, 30000, page, shots);
        assert.match(await consoleText(page), /state=airborne!/);
        await waitFor('the status bar item to show the failure', async () => /^1 patch, last hotfix failed$/.test(
            await statusItem(page)), 15000, page, shots);
        await runCommand(page, 'View: Focus Problems (Errors, Warnings, Infos)');
        // At the line and column the compiler gave.
        const [, line, column] = /src\/jump\.c:(\d+):(\d+): error/.exec(error);
        assert.strictEqual(Number(line), labelLine);
        const row = await waitFor('the error in the Problems panel', async () => {
            const text = await problemRows(page);
            return /expected .*;.* before .*}.* token/.test(text) && text.includes(`[Ln ${line}, Col ${column}]`)
                ? text : false;
        }, 15000, page, shots);
        assert.match(row, /hotfix/, `the Problem's source is hotfix: ${row}`);
        await openFile(page, 'jump/src/jump.c');
        await docShot(page, 'vscode-compile-error.png');
        await page.screenshot({ path: path.join(shots, '4-error.png') });
        await showDebugConsole(page, shots);

        // A refused edit (Visual Studio's "rude edit"): a static whose type
        // changed from an integer to a floating type, which hotfix does not
        // migrate.  Nothing changes in the game; the Problem is at the
        // static's declaration.
        await clearNotifications(page, shots);
        await replaceLine(page, labelLine, 'return p->vy > 0.0 ? "airborne!" : "falling";');
        await replaceLine(page, staticLine, 'static double jumps_made;');
        await page.keyboard.press('Control+S');
        await waitFor('the refusal notification', async () => /hotfix: jump\/src\/jump\.c: nothing was changed: the type of jumps_made changed from `int' to `double' and hotfix cannot migrate it/.test(
            await notifications(page)), 60000, page, shots);
        await waitFor('the squiggle to move to the static', async () =>
            JSON.stringify(await squiggleLines(page)) === JSON.stringify([staticLine]), 15000, page, shots);
        await runCommand(page, 'View: Focus Problems (Errors, Warnings, Infos)');
        await waitFor('the refusal in the Problems panel', async () => {
            const text = await problemRows(page);
            return text.includes('the type of jumps_made changed') && text.includes(`[Ln ${staticLine}, Col 15]`) &&
                !/expected/.test(text);
        }, 15000, page, shots);
        await showDebugConsole(page, shots);

        // The command, from the palette: put the static back and edit the
        // line without saving, then "Hotfix: Apply Current File" saves and
        // applies it; the Problems are cleared.
        await clearNotifications(page, shots);
        await replaceLine(page, staticLine, 'static int jumps_made;');
        await replaceLine(page, labelLine, 'return p->vy > 0.0 ? "rising!" : "falling";');
        await page.keyboard.press('Escape');
        await runCommand(page, 'Hotfix: Apply Current File');
        await waitFor('the command\'s summary', async () =>
            /hotfix: jump\/src\/jump\.c: 1 function redirected \(jump_label\)/.test(await notifications(page)),
        60000, page, shots);
        await waitFor('the game to print "rising!"', async () => /state=rising!/.test(await consoleText(page)),
            30000, page, shots);
        await waitFor('the Problems to be cleared', async () => (await squiggleLines(page)).length === 0 &&
            /^(No Problems|0 errors|Errors?: 0)/i.test(await problemCount(page)), 15000, page, shots);
        await waitFor('the status bar item to count 2 patches', async () => /^2 patches, last hotfix succeeded$/.test(
            await statusItem(page)), 15000, page, shots);
        await page.screenshot({ path: path.join(shots, '5-command.png') });
        // One apply: the command's own save is not applied again on save.
        await new Promise((r) => setTimeout(r, 2000));
        const shown = (await notifications(page)).split('\n').filter((l) => l.startsWith('hotfix:'));
        assert.strictEqual(shown.length, 1, `one hotfix notification: ${shown.join(' | ')}`);

        // Dry Run: the plan in the Hotfix output; nothing changes in the game.
        await clearNotifications(page, shots);
        await openFile(page, 'jump/src/jump.c');
        await replaceLine(page, labelLine, 'return p->vy > 0.0 ? "up!" : "falling";');
        await runCommand(page, 'Hotfix: Dry Run');
        await waitFor('the dry run\'s notification', async () => /hotfix: dry run: nothing was written/.test(
            await notifications(page)), 60000, page, shots);
        await waitFor('the plan in the Hotfix output', async () =>
            /hotfix plan for src\/jump\.c[\s\S]*redirect jump_label/.test(await outputText(page)), 15000, page, shots);
        await showDebugConsole(page, shots);
        const planned = lastFrame(await consoleText(page));
        await waitFor('the game to go on', async () => lastFrame(await consoleText(page)) > planned + 5, 30000, page, shots);
        assert.doesNotMatch(await consoleText(page), /state=up!/, 'a dry run writes nothing');

        // Status: the patches of the session, in the output and the notification.
        await clearNotifications(page, shots);
        await runCommand(page, 'Hotfix: Status');
        await waitFor('the status notification', async () => /hotfix: 2 patches applied in process \d+/.test(
            await notifications(page)), 60000, page, shots);
        await waitFor('the patches in the Hotfix output', async () => /jump\/src\/jump\.c patch 2 at/.test(
            await outputText(page)), 15000, page, shots);
        await showDebugConsole(page, shots);

        // Revert All: the game's own code again; the count goes to 0.
        await clearNotifications(page, shots);
        await runCommand(page, 'Hotfix: Revert All');
        await waitFor('the revert notification', async () =>
            /hotfix: jump\/src\/jump\.c: reverted 1 function \(jump_label\) to the program's own code/.test(
                await notifications(page)), 60000, page, shots);
        const reverted = lastFrame(await consoleText(page));
        await waitFor('the game to print "rising" again', async () => {
            const rows = [...(await consoleText(page)).matchAll(/frame (\d+): [^\n]*state=(\S+)/g)];
            return rows.some((m) => Number(m[1]) > reverted && m[2] === 'rising');
        }, 30000, page, shots);
        await waitFor('the status bar item to count 0 patches', async () => /^0 patches, last hotfix succeeded$/.test(
            await statusItem(page)), 15000, page, shots);

        // Revert Current File with nothing left to revert: hotfix says so.
        await clearNotifications(page, shots);
        await openFile(page, 'jump/src/jump.c');
        await runCommand(page, 'Hotfix: Revert Current File');
        await waitFor('the revert refusal', async () => /hotfix: nothing to revert: no patches applied to jump\.c/.test(
            await notifications(page)), 60000, page, shots);

        // Where VS Code does see the stop (hotfix.pauseQuietly off: as with
        // adapters hotfix does not run itself), the tab it opens for the
        // stopped frame is closed, the editor is put back, and VS Code's own
        // Continue leaves no stale stop in its views.  The debug toolbar's
        // button applies the edit.
        const wsSettings = path.join(ws, '.vscode', 'settings.json');
        writeJson(wsSettings, { ...JSON.parse(fs.readFileSync(wsSettings, 'utf8')), 'hotfix.pauseQuietly': false });
        await new Promise((r) => setTimeout(r, 1500));      // the settings file is watched
        await clearNotifications(page, shots);
        await openFile(page, 'jump/src/jump.c');
        await replaceLine(page, labelLine, 'return p->vy > 0.0 ? "shown!" : "falling";');
        const cursor2 = await settledPosition(page);
        await page.click('.debug-toolbar .action-label[aria-label^="Apply Code Changes"]');
        await waitFor('the summary of the toolbar button', async () =>
            /hotfix: jump\/src\/jump\.c: 1 function redirected \(jump_label\)/.test(await notifications(page)),
        60000, page, shots);
        await waitFor('the game to print "shown!"', async () => /state=shown!/.test(await consoleText(page)),
            30000, page, shots);
        await expectUserStillEditing(page, cursor2, shots);
    } catch (e) {
        await page.screenshot({ path: path.join(shots, 'failed.png') }).catch(() => {});
        e.message += ` (screenshots in ${shots})`;
        throw e;
    }
    await runCommand(page, 'Debug: Stop');
});
