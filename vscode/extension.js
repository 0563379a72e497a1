// hotfix for VS Code: apply edited C/C++ files to the program being debugged,
// through the debug session's own debugger (GDB via cppdbg, LLDB via CodeLLDB
// or lldb-dap) where the hotfix plugin is loaded by launch.json.
//
// What the user sees, modelled on Visual Studio's Edit and Continue: the
// editor stays where it was (a running program is paused and resumed without
// VS Code showing the stop where the adapter lets us, and any tab the stop
// opened is closed where it does not); compile errors and refusals are in the
// Problems panel at their lines; a status bar item counts the patches.
'use strict';

const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');
const vscode = require('vscode');
const logic = require('./logic');

const states = new Map();        // session id -> logic.SessionState (from the tracker)
const outputs = new Map();       // session id -> [console text collected while a hotfix runs]
const waiters = new Map();       // session id -> Set of functions called with each adapter message
const proxies = new Map();       // session id -> LldbDapProxy (hotfix-lldb-dap sessions)
const infos = new Map();         // session id -> {active, patches, busy, last} for the status bar
let channel;
let status;
let problems;
let queue = Promise.resolve();   // one hotfix at a time

function activate(context) {
    channel = vscode.window.createOutputChannel('Hotfix');
    status = vscode.window.createStatusBarItem('hotfix.status', vscode.StatusBarAlignment.Left, 0);
    status.name = 'Hotfix';
    status.command = 'hotfix.showOutput';
    problems = vscode.languages.createDiagnosticCollection('hotfix');
    context.subscriptions.push(channel, status, problems);

    context.subscriptions.push(vscode.debug.registerDebugAdapterTrackerFactory('*', {
        createDebugAdapterTracker(session) {
            if (!logic.isSupported(session.type)) {
                return undefined;
            }
            const state = new logic.SessionState();
            states.set(session.id, state);
            return {
                onWillReceiveMessage: (msg) => state.toAdapter(msg),
                onDidSendMessage: (msg) => {
                    state.fromAdapter(msg);
                    const collecting = outputs.get(session.id);
                    if (collecting && msg.type === 'event' && msg.event === 'output' && msg.body &&
                        msg.body.category !== 'stdout' && msg.body.category !== 'stderr') {
                        collecting.push(msg.body.output || '');
                    }
                    for (const waiter of waiters.get(session.id) || []) {
                        waiter(msg);
                    }
                },
                onExit: () => states.delete(session.id),
            };
        },
    }));

    context.subscriptions.push(vscode.debug.registerDebugAdapterDescriptorFactory('hotfix-lldb-dap', {
        createDebugAdapterDescriptor(session) {
            const command = findLldbDap(session.configuration);
            if (!command) {
                throw new Error('hotfix: lldb-dap was not found: install lldb-dap-19 (Debian: apt-get install ' +
                                'lldb-dap-19) or set "hotfix.lldbDapPath".');
            }
            // lldb-dap runs behind a proxy of ours, which can pause the
            // program for a hotfix without VS Code seeing the stop.  It runs
            // in the workspace folder, so hotfix names files relative to it.
            const folder = session.workspaceFolder || (vscode.workspace.workspaceFolders || [])[0];
            const proxy = new LldbDapProxy(command, folder ? folder.uri.fsPath : undefined);
            proxies.set(session.id, proxy);
            return new vscode.DebugAdapterInlineImplementation(proxy);
        },
    }));

    const register = (name, fn) => context.subscriptions.push(vscode.commands.registerCommand(name, fn));
    register('hotfix.applyCurrentFile', () => withCurrentFile('apply', {}));
    register('hotfix.applyAllChanged', () => enqueue(async () => {
        await savedByCommand(() => vscode.workspace.saveAll(false));
        return apply({ allChanged: true });
    }));
    // The debug toolbar's and editor title's button: every edit, as Visual
    // Studio's "Apply Code Changes" does.
    register('hotfix.applyCodeChanges', () => vscode.commands.executeCommand('hotfix.applyAllChanged'));
    register('hotfix.dryRun', () => {
        const editor = vscode.window.activeTextEditor;
        if (editor && editor.document.uri.scheme === 'file' && logic.isSourceFile(editor.document.fileName)) {
            return withCurrentFile('dryRun', { dryRun: true });
        }
        return enqueue(async () => {
            await savedByCommand(() => vscode.workspace.saveAll(false));
            return apply({ allChanged: true, dryRun: true });
        });
    });
    register('hotfix.status', () => enqueue(() => apply({ status: true })));
    register('hotfix.revertCurrentFile', () => withCurrentFile('revert', { revert: true }));
    register('hotfix.revertAll', () => enqueue(() => apply({ revertAll: true })));
    register('hotfix.showOutput', () => channel.show(true));

    context.subscriptions.push(vscode.workspace.onDidSaveTextDocument((doc) => {
        if (savingForCommand > 0 || !vscode.workspace.getConfiguration('hotfix', doc.uri).get('applyOnSave')) {
            return;
        }
        const session = vscode.debug.activeDebugSession;
        if (!session || !logic.isSupported(session.type) || doc.uri.scheme !== 'file' ||
            !logic.isSourceFile(doc.fileName)) {
            return;
        }
        enqueue(() => apply({ files: [doc.uri.fsPath], session }));
    }));

    context.subscriptions.push(vscode.debug.onDidChangeActiveDebugSession(() => updateStatus()));
    context.subscriptions.push(vscode.debug.onDidStartDebugSession(() => updateStatus()));
    context.subscriptions.push(vscode.debug.onDidTerminateDebugSession((session) => {
        infos.delete(session.id);
        const proxy = proxies.get(session.id);
        if (proxy) {
            proxies.delete(session.id);
            proxy.dispose();
        }
        updateStatus();
    }));
    updateStatus();
}

// A command on the active editor's file (saved first).
function withCurrentFile(what, options) {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document.uri.scheme !== 'file') {
        vscode.window.showErrorMessage('hotfix: no file is open.');
        return undefined;
    }
    return enqueue(async () => {
        if (editor.document.isDirty && !options.revert) {
            await savedByCommand(() => editor.document.save());
        }
        return apply({ files: [editor.document.uri.fsPath], ...options });
    });
}

// Saves made by the commands, which apply the files themselves: not again
// on save.
let savingForCommand = 0;

async function savedByCommand(save) {
    savingForCommand++;
    try {
        return await save();
    } finally {
        savingForCommand--;
    }
}

function enqueue(job) {
    const run = queue.then(job, job);
    queue = run.catch(() => undefined);
    return run;
}

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

// --- the status bar item --------------------------------------------------

function infoFor(session) {
    if (!infos.has(session.id)) {
        infos.set(session.id, { active: 0, patches: 0, busy: false, last: undefined });
    }
    return infos.get(session.id);
}

function updateStatus() {
    const session = vscode.debug.activeDebugSession;
    const supported = !!session && logic.isSupported(session.type);
    vscode.commands.executeCommand('setContext', 'hotfix.debugging', supported);
    if (!supported) {
        status.hide();
        return;
    }
    const shown = logic.statusItem(infoFor(session));
    status.text = shown.text;
    status.tooltip = shown.tooltip;
    status.accessibilityInformation = { label: shown.label };
    status.show();
}

// --- paths and Problems -----------------------------------------------------

function relative(text) {
    const folders = (vscode.workspace.workspaceFolders || []).map((f) => ({ name: f.name, path: f.uri.fsPath }));
    return logic.relativize(text, folders);
}

function readText(file) {
    const open = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === file);
    if (open) {
        return open.getText();
    }
    try {
        return fs.readFileSync(file, 'utf8');
    } catch (e) {
        return undefined;
    }
}

const SEVERITY = {
    error: vscode.DiagnosticSeverity.Error,
    warning: vscode.DiagnosticSeverity.Warning,
    information: vscode.DiagnosticSeverity.Information,
};

// The Problems of one result, replacing the previous ones (a success clears them).
function showProblems(result) {
    problems.clear();
    const byFile = logic.problemsOf(result, readText);
    for (const [file, list] of Object.entries(byFile)) {
        problems.set(vscode.Uri.file(file), list.map((p) => {
            const d = new vscode.Diagnostic(new vscode.Range(p.line, p.start, p.line, p.end), relative(p.message),
                                            SEVERITY[p.severity]);
            d.source = p.source === 'compiler' ? 'hotfix (compiler)' : 'hotfix';
            return d;
        }));
    }
    return Object.keys(byFile).length;
}

// --- where the user was -------------------------------------------------------

function tabKey(tab) {
    const input = tab.input;
    if (input && input.uri) {
        return input.uri.toString();
    }
    return 'label:' + tab.label;
}

function allTabs() {
    return vscode.window.tabGroups.all.flatMap((g) => g.tabs);
}

// The active editor (its file, selections, scroll) and the open tabs, before
// a hotfix pauses the program; restore() closes the tabs VS Code opened for
// that stop and brings the editor back as it was.
function rememberEditor() {
    const editor = vscode.window.activeTextEditor;
    const saved = editor && {
        document: editor.document,
        key: editor.document.uri.toString(),
        selections: editor.selections,
        visible: editor.visibleRanges,
        viewColumn: editor.viewColumn,
    };
    const before = allTabs().map(tabKey);
    const opened = [];
    const watching = vscode.window.tabGroups.onDidChangeTabs((e) => opened.push(...e.opened));
    return {
        async restore(stopWasShown) {
            if (stopWasShown) {
                await sleep(400);        // VS Code opens the stopped frame's source asynchronously
            }
            watching.dispose();
            const close = logic.tabsToClose(before, opened.map((t) => ({ key: tabKey(t), dirty: t.isDirty })),
                                            saved && saved.key);
            const keys = new Set(close.map((t) => t.key));
            const tabs = allTabs().filter((t) => keys.has(tabKey(t)) && !t.isDirty);
            if (tabs.length) {
                await vscode.window.tabGroups.close(tabs, true);
            }
            if (!saved || saved.document.isClosed) {
                return;
            }
            const now = vscode.window.activeTextEditor;
            const same = now && now.document.uri.toString() === saved.key &&
                now.selections.length === saved.selections.length &&
                now.selections.every((s, i) => s.isEqual(saved.selections[i])) &&
                (!saved.visible.length || (now.visibleRanges.length && now.visibleRanges[0].isEqual(saved.visible[0])));
            if (same) {
                return;
            }
            const shown = await vscode.window.showTextDocument(saved.document, {
                viewColumn: saved.viewColumn, preserveFocus: false, preview: false,
            });
            shown.selections = saved.selections;
            if (saved.visible.length) {
                shown.revealRange(saved.visible[0], vscode.TextEditorRevealType.AtTop);
            }
        },
    };
}

// --- running hotfix in a session -----------------------------------------------

function waitFor(session, match, timeoutMs) {
    return new Promise((resolve, reject) => {
        const set = waiters.get(session.id) || new Set();
        waiters.set(session.id, set);
        const done = (fn, value) => {
            clearTimeout(timer);
            set.delete(waiter);
            fn(value);
        };
        const waiter = (msg) => {
            if (match(msg)) {
                done(resolve, msg);
            }
        };
        const timer = setTimeout(() => done(reject, new Error('hotfix: the program did not stop within ' +
                                                              timeoutMs / 1000 + ' s.')), timeoutMs);
        set.add(waiter);
    });
}

async function firstThread(session) {
    const threads = await session.customRequest('threads');
    const list = (threads && threads.threads) || [];
    if (list.length === 0) {
        throw new Error('hotfix: the program has no threads (is it running?).');
    }
    return list[0].id;
}

async function topFrame(session, threadId) {
    try {
        const trace = await session.customRequest('stackTrace', { threadId, startFrame: 0, levels: 1 });
        const frames = (trace && trace.stackFrames) || [];
        return frames.length ? frames[0].id : undefined;
    } catch (e) {
        return undefined;
    }
}

async function evaluate(session, request) {
    const collected = [];
    outputs.set(session.id, collected);
    let reply;
    try {
        reply = { success: true, body: await session.customRequest(request.command, request.arguments) };
    } catch (e) {
        reply = { success: false, message: e && e.message ? e.message : String(e) };
    } finally {
        // Output events sent just before the response are already in.
        outputs.delete(session.id);
    }
    return { reply, output: collected.join('') };
}

// Any adapter: pause through VS Code's session (VS Code shows the stop),
// run the command, and continue with VS Code's own Continue, so that its
// views learn that the program runs again (adapters such as lldb-dap send
// no `continued` event for a continue they were asked for).
async function hotfixThroughSession(session, text) {
    const state = states.get(session.id) || new logic.SessionState();
    let threadId = state.threadId;
    let paused = false;
    if (!state.stopped) {
        threadId = await firstThread(session);
        const stopped = waitFor(session, (m) => m.type === 'event' && m.event === 'stopped', 10000);
        await session.customRequest('pause', { threadId });
        const event = await stopped;
        threadId = (event.body && event.body.threadId) || threadId;
        paused = true;
    }
    try {
        const frameId = threadId !== undefined ? await topFrame(session, threadId) : undefined;
        return { ...(await evaluate(session, logic.requestFor(session.type, text, session.configuration, frameId))),
                 stopShown: paused };
    } finally {
        if (paused) {
            await continueShown(session, threadId);
        }
    }
}

async function continueShown(session, threadId) {
    const state = states.get(session.id);
    // VS Code takes the stop in asynchronously: its Continue acts once it has.
    for (let i = 0; i < 40; i++) {
        const item = vscode.debug.activeStackItem;
        if (item && item.session && item.session.id === session.id) {
            break;
        }
        await sleep(50);
    }
    try {
        const item = vscode.debug.activeStackItem;
        if (item && item.session && item.session.id === session.id) {
            await vscode.commands.executeCommand('workbench.action.debug.continue');
            for (let i = 0; i < 20 && state && state.stopped; i++) {
                await sleep(50);
            }
        }
        if (!state || state.stopped) {
            await session.customRequest('continue', { threadId });
        }
    } catch (e) {
        channel.appendLine(`hotfix: could not resume the program: ${e.message || e}`);
    }
}

// Run one hotfix command in the active (or given) session: pause the program
// if it runs, send the command the session's adapter understands, show the
// summary or the error (Problems for compile errors and refusals), resume
// the program if it was paused here, and put the editor back as it was.
async function apply({ files, allChanged, session, dryRun, status: askStatus, revert, revertAll }) {
    session = session || vscode.debug.activeDebugSession;
    if (!session) {
        vscode.window.showErrorMessage('hotfix: no debug session is active: start the program under the debugger ' +
                                       'first.');
        return { ok: false };
    }
    if (!logic.isSupported(session.type)) {
        vscode.window.showErrorMessage(`hotfix: debug sessions of type "${session.type}" are not supported ` +
                                       `(supported: ${logic.SUPPORTED.join(', ')}).`);
        return { ok: false };
    }
    const changesCode = !askStatus && !revert && !revertAll;
    const text = logic.hotfixCommand(files, { allChanged, dryRun, status: askStatus, revert, revertAll, json: true });
    channel.appendLine(`> ${relative(text)}  [${session.type}: ${session.name}]`);
    const info = infoFor(session);
    info.busy = true;
    updateStatus();
    const where = rememberEditor();
    let result;
    let stopShown = false;
    try {
        const proxy = proxies.get(session.id);
        const quiet = proxy && vscode.workspace.getConfiguration('hotfix').get('pauseQuietly', true);
        const outcome = quiet ? await proxy.hotfix(text, session.configuration)
            : await hotfixThroughSession(session, text);
        stopShown = !!outcome.stopShown;
        result = logic.readReply(outcome.reply, outcome.output);
    } catch (e) {
        const message = e && e.message ? e.message : String(e);
        result = { ok: false, message: /^hotfix: /.test(message) ? message : 'hotfix: ' + message, text: message };
    } finally {
        info.busy = false;
        try {
            await where.restore(stopShown);
        } catch (e) {
            channel.appendLine(`hotfix: could not restore the editor: ${e.message || e}`);
        }
    }
    const message = relative(result.message);
    channel.appendLine(relative(result.text || result.message));
    if (result.result) {
        info.active = result.result.active !== undefined ? result.result.active : info.active;
        info.patches = result.result.patches;
    }
    info.last = { ok: result.ok, message };
    updateStatus();
    let problemCount = 0;
    if (changesCode && result.result) {
        problemCount = showProblems(result.result);
    }
    if (dryRun || askStatus) {
        channel.show(true);
    }
    if (result.ok) {
        vscode.window.showInformationMessage(dryRun && result.ok ? 'hotfix: dry run: nothing was written; the plan is ' +
                                             'in the Hotfix output.' : message);
    } else {
        const choices = problemCount ? ['Show Problems', 'Show Output'] : ['Show Output'];
        vscode.window.showErrorMessage(message, ...choices).then((choice) => {
            if (choice === 'Show Output') {
                channel.show(true);
            } else if (choice === 'Show Problems') {
                vscode.commands.executeCommand('workbench.actions.view.problems');
            }
        });
    }
    return { ...result, message };
}

// --- lldb-dap behind a proxy ------------------------------------------------------

// The hotfix-lldb-dap debug adapter: lldb-dap as a child process, its
// messages passed through both ways, except that while hotfix pauses a
// running program (hotfix()) the stop is not shown to VS Code (QuietPause):
// no stopped frame opens, no Variables of a stop the user did not ask for.
class LldbDapProxy {
    constructor(command, cwd) {
        this.emitter = new vscode.EventEmitter();
        this.onDidSendMessage = this.emitter.event;
        this.quiet = new logic.QuietPause();
        this.state = new logic.SessionState();
        this.pending = new Map();       // our own requests' seq -> resolve
        this.listeners = new Set();
        this.seq = 1000000000;          // far from VS Code's own sequence numbers
        this.ended = false;
        this.child = childProcess.spawn(command, [], { cwd, env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
        const reader = new logic.DapReader((msg) => this.fromAdapter(msg));
        this.child.stdout.on('data', (chunk) => reader.push(chunk));
        this.child.stderr.on('data', (chunk) => channel.append('lldb-dap: ' + chunk.toString()));
        this.child.on('error', (e) => {
            vscode.window.showErrorMessage(`hotfix: could not start ${command}: ${e.message}`);
            this.end();
        });
        this.child.on('exit', () => this.end());
    }

    end() {
        for (const resolve of this.pending.values()) {
            resolve({ success: false, message: 'lldb-dap exited.' });
        }
        this.pending.clear();
        if (!this.ended) {
            this.ended = true;
            this.emitter.fire({ seq: 0, type: 'event', event: 'terminated' });
        }
    }

    // From VS Code.
    handleMessage(msg) {
        this.state.toAdapter(msg);
        this.write(msg);
    }

    write(msg) {
        if (this.child.stdin.writable) {
            this.child.stdin.write(logic.frameMessage(msg));
        }
    }

    // From lldb-dap.
    fromAdapter(msg) {
        if (msg.type === 'response' && this.pending.has(msg.request_seq)) {
            const resolve = this.pending.get(msg.request_seq);
            this.pending.delete(msg.request_seq);
            resolve(msg);
            return;
        }
        for (const listener of this.listeners) {
            listener(msg);
        }
        if (!this.quiet.forward(msg)) {
            return;
        }
        this.state.fromAdapter(msg);
        if (msg.type === 'event' && msg.event === 'terminated') {
            this.ended = true;
        }
        this.emitter.fire(msg);
    }

    request(command, args) {
        const seq = ++this.seq;
        return new Promise((resolve) => {
            this.pending.set(seq, resolve);
            this.write({ seq, type: 'request', command, arguments: args });
        });
    }

    nextEvent(match, timeoutMs) {
        return new Promise((resolve, reject) => {
            const listener = (msg) => {
                if (match(msg)) {
                    clearTimeout(timer);
                    this.listeners.delete(listener);
                    resolve(msg);
                }
            };
            const timer = setTimeout(() => {
                this.listeners.delete(listener);
                reject(new Error(`hotfix: the program did not stop within ${timeoutMs / 1000} s.`));
            }, timeoutMs);
            this.listeners.add(listener);
        });
    }

    // Run a hotfix command: a running program is paused quietly and
    // continued after it (unless it stopped for the user meanwhile: a
    // breakpoint hit before the pause took effect is shown and kept).
    async hotfix(text, configuration) {
        const args = logic.requestFor('hotfix-lldb-dap', text, configuration).arguments;
        if (this.state.stopped) {
            return { reply: await this.request('evaluate', args) };
        }
        this.quiet.open();
        try {
            const stopped = this.nextEvent((m) => m.type === 'event' && m.event === 'stopped', 10000);
            const pause = await this.request('pause', { threadId: this.state.threadId || 0 });
            if (!pause.success) {
                throw new Error(`hotfix: the program could not be paused: ${pause.message || 'refused'}.`);
            }
            const event = await stopped;
            const reply = await this.request('evaluate', args);
            if (!this.quiet.userStop) {
                await this.request('continue', { threadId: (event.body && event.body.threadId) || 0 });
            }
            return { reply };
        } finally {
            this.quiet.close();
        }
    }

    // VS Code has already asked lldb-dap to disconnect (which ends or
    // detaches the program): give it a moment to finish before it goes.
    dispose() {
        if (this.child.exitCode === null && !this.child.killed) {
            setTimeout(() => {
                if (this.child.exitCode === null && !this.child.killed) {
                    this.child.kill();
                }
            }, 2000).unref();
        }
    }
}

// lldb-dap for the debug type this extension contributes: the setting, or
// lldb-dap-19 / lldb-dap / lldb-vscode on PATH or in /usr/bin.
function findLldbDap(configuration) {
    const configured = (configuration && configuration.lldbDapPath) ||
        vscode.workspace.getConfiguration('hotfix').get('lldbDapPath');
    if (configured) {
        return configured;
    }
    const dirs = (process.env.PATH || '').split(path.delimiter).concat(['/usr/bin', '/usr/local/bin']);
    for (const name of ['lldb-dap-19', 'lldb-dap', 'lldb-vscode-19', 'lldb-vscode']) {
        for (const dir of dirs) {
            const candidate = path.join(dir, name);
            try {
                fs.accessSync(candidate, fs.constants.X_OK);
                return candidate;
            } catch (e) {
                // next
            }
        }
    }
    return undefined;
}

function deactivate() {
    for (const proxy of proxies.values()) {
        proxy.dispose();
    }
}

module.exports = { activate, deactivate, apply };
