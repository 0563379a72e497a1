// hotfix for VS Code: apply edited C/C++ files to the program being debugged,
// through the debug session's own debugger (GDB via cppdbg, LLDB via CodeLLDB
// or lldb-dap) where the hotfix plugin is loaded by launch.json.
'use strict';

const fs = require('fs');
const path = require('path');
const vscode = require('vscode');
const logic = require('./logic');

const states = new Map();        // session id -> logic.SessionState
const outputs = new Map();       // session id -> [console text collected while a hotfix runs]
let channel;
let queue = Promise.resolve();   // one hotfix at a time
let status;

function activate(context) {
    channel = vscode.window.createOutputChannel('Hotfix');
    status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 0);
    context.subscriptions.push(channel, status);

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
            return new vscode.DebugAdapterExecutable(command, []);
        },
    }));

    context.subscriptions.push(vscode.commands.registerCommand('hotfix.applyCurrentFile', () => {
        const editor = vscode.window.activeTextEditor;
        if (!editor) {
            vscode.window.showErrorMessage('hotfix: no file is open.');
            return undefined;
        }
        return enqueue(async () => {
            if (editor.document.isDirty) {
                await savedByCommand(() => editor.document.save());
            }
            return apply({ files: [editor.document.uri.fsPath] });
        });
    }));
    context.subscriptions.push(vscode.commands.registerCommand('hotfix.applyAllChanged', () =>
        enqueue(async () => {
            await savedByCommand(() => vscode.workspace.saveAll(false));
            return apply({ allChanged: true });
        })));

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

const waiters = new Map();      // session id -> Set of functions called with each adapter message

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

// Run one hotfix command in the active (or given) session: pause the program
// if it runs, send the command the session's adapter understands, show the
// summary or the error, and resume the program if it was paused here.
async function apply({ files, allChanged, session }) {
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
    const state = states.get(session.id) || new logic.SessionState();
    const text = logic.hotfixCommand(files, { allChanged });
    channel.appendLine(`> ${text}  [${session.type}: ${session.name}]`);
    status.text = '$(sync~spin) hotfix';
    status.show();
    let paused = false;
    let threadId = state.threadId;
    let result;
    try {
        if (!state.stopped) {
            threadId = await firstThread(session);
            const stopped = waitFor(session, (m) => m.type === 'event' && m.event === 'stopped', 10000);
            await session.customRequest('pause', { threadId });
            const event = await stopped;
            threadId = (event.body && event.body.threadId) || threadId;
            paused = true;
        }
        const frameId = threadId !== undefined ? await topFrame(session, threadId) : undefined;
        const request = logic.requestFor(session.type, text, session.configuration, frameId);
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
        result = logic.readReply(reply, collected.join(''));
    } catch (e) {
        result = { ok: false, message: e && e.message ? e.message : String(e), text: String(e) };
    } finally {
        if (paused) {
            try {
                await session.customRequest('continue', { threadId });
            } catch (e) {
                channel.appendLine(`hotfix: could not resume the program: ${e.message || e}`);
            }
        }
        status.hide();
    }
    channel.appendLine(result.text || result.message);
    if (result.ok) {
        vscode.window.showInformationMessage(result.message);
    } else {
        vscode.window.showErrorMessage(result.message, 'Show Output').then((choice) => {
            if (choice) {
                channel.show(true);
            }
        });
    }
    return result;
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

function deactivate() {}

module.exports = { activate, deactivate, apply };
