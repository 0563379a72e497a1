// The hotfix extension's decisions, without VS Code: which request carries a
// debugger command for each debug type, how to read the reply, whether a
// session is stopped.  extension.js does the talking; node --test tests this.
'use strict';

const path = require('path');

// Debug types and how each adapter takes a debugger command typed in the
// Debug Console.
const ADAPTERS = {
    // Microsoft C/C++ (GDB): "-exec CMD" becomes -interpreter-exec console;
    // refused while the program runs.
    cppdbg: { kind: 'exec', debugger: 'gdb' },
    // CodeLLDB: a command is an evaluate in the "_command" context.
    lldb: { kind: 'command-context', debugger: 'lldb' },
    // lldb-dap (LLVM's extension, and its older name), and the type this
    // extension contributes itself: REPL text after the command escape
    // prefix (a backtick unless launch.json sets commandEscapePrefix).
    'lldb-dap': { kind: 'escape', debugger: 'lldb' },
    'lldb-vscode': { kind: 'escape', debugger: 'lldb' },
    'hotfix-lldb-dap': { kind: 'escape', debugger: 'lldb' },
};

const SUPPORTED = Object.keys(ADAPTERS);

function isSupported(debugType) {
    return Object.prototype.hasOwnProperty.call(ADAPTERS, debugType);
}

// One argument of the hotfix command: GDB (gdb.string_to_argv) and LLDB
// (shlex) both read double quotes with backslash escapes.
function quoteArg(arg) {
    if (/^[A-Za-z0-9_./+@%:,=-]+$/.test(arg)) {
        return arg;
    }
    return '"' + arg.replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

// The command text: `hotfix FILE...` or `hotfix --all-changed`.
function hotfixCommand(files, options = {}) {
    if (options.allChanged) {
        return 'hotfix --all-changed';
    }
    if (!files || files.length === 0) {
        throw new Error('hotfix: no file to apply.');
    }
    return 'hotfix ' + files.map(quoteArg).join(' ');
}

// The DAP request ({command, arguments}) that runs debugger command `text`
// in a session of `debugType`.  `configuration` is the session's launch
// configuration (for lldb-dap's commandEscapePrefix).  frameId, if given, is
// a frame of the stopped thread (adapters want one for a REPL evaluate).
function requestFor(debugType, text, configuration = {}, frameId) {
    const adapter = ADAPTERS[debugType];
    if (!adapter) {
        throw new Error(`hotfix: debug sessions of type "${debugType}" are not supported ` +
                        `(supported: ${SUPPORTED.join(', ')}).`);
    }
    let args;
    if (adapter.kind === 'exec') {
        args = { expression: '-exec ' + text, context: 'repl' };
    } else if (adapter.kind === 'command-context') {
        args = { expression: text, context: '_command' };
    } else {
        const prefix = typeof configuration.commandEscapePrefix === 'string' ? configuration.commandEscapePrefix : '`';
        args = { expression: prefix + text, context: 'repl' };
    }
    if (frameId !== undefined && frameId !== null) {
        args.frameId = frameId;
    }
    return { command: 'evaluate', arguments: args };
}

// Strip what adapters put around the debugger's own words: lldb-dap echoes
// "(lldb) CMD" first; LLDB writes "error: " before a command's error.
function cleanLines(text) {
    return String(text || '')
        .replace(/\r\n?/g, '\n')
        .split('\n')
        .map((l) => l.replace(/\s+$/, ''))
        .filter((l) => l && !/^\((lldb|gdb)\) /.test(l));
}

// Read the outcome of a hotfix command.
//   reply: { success, body: {result}, message } — the evaluate response, or
//          { success: false, message } when the request itself failed;
//   output: text of `output` events the adapter sent while it ran (cppdbg
//          and others may print the debugger's words there).
// Returns { ok, message, text }: message is the line to show (the summary,
// or the error), text everything hotfix said.  lldb-dap answers success even
// when the command failed, so the text decides: an error line
// ("error: hotfix: ...", "hotfix: ..." in a failed reply) means failure.
function readReply(reply, output = '') {
    const replyText = reply && reply.success ? (reply.body && reply.body.result) || '' : '';
    const failedText = reply && !reply.success ? reply.message || (reply.body && reply.body.error &&
        reply.body.error.format) || 'the debugger refused the command.' : '';
    const lines = cleanLines([replyText, failedText, output].filter(Boolean).join('\n'));
    const ours = lines.filter((l) => /^(error: )?hotfix: /.test(l) || /^error: /.test(l));
    const errorIndex = lines.findIndex((l) => /^error: /.test(l));
    const text = lines.join('\n');
    const notLoaded = lines.concat(cleanLines(failedText)).find((l) => NOT_A_COMMAND.test(l));
    if (notLoaded && ours.every((l) => !/^(error: )?hotfix: /.test(l))) {
        return { ok: false, message: 'hotfix: the debugger has no hotfix command; load the plugin in ' +
                 'launch.json (see the README, "VS Code").', text };
    }
    if (!reply || !reply.success || errorIndex >= 0) {
        // The error is the first error line (LLDB) or the failure message
        // (GDB's ^error,msg= through cppdbg); what follows it (compiler
        // diagnostics) stays in `text`.
        let message = errorIndex >= 0 ? lines[errorIndex].replace(/^error: /, '') : cleanLines(failedText)[0];
        if (!message) {
            message = 'hotfix: the command failed.';
        }
        // "compiling src/jump.c failed:" — add the compiler's first error.
        if (/:$/.test(message)) {
            const first = lines.slice(errorIndex + 1).concat(cleanLines(failedText).slice(1))
                .find((l) => /\berror\b/.test(l) && !/^error: /.test(l));
            if (first) {
                message += ' ' + first.trim();
            }
        }
        if (!/^hotfix: /.test(message)) {
            message = 'hotfix: ' + message;
        }
        return { ok: false, message, text: text || message };
    }
    // The summary: hotfix's last line that is not a warning.
    const said = ours.filter((l) => !/^hotfix: warning: /.test(l));
    if (said.length === 0) {
        return { ok: true, message: 'hotfix: done.', text };
    }
    return { ok: true, message: said[said.length - 1], text };
}

// What GDB and LLDB say for a command they do not have.
const NOT_A_COMMAND = /is not a valid command|Undefined command: "hotfix"/;

// Is the file one hotfix can apply (a C or C++ source or header)?
const SOURCE_EXTENSIONS = new Set(['.c', '.cc', '.cpp', '.cxx', '.c++', '.cp', '.h', '.hh', '.hpp', '.hxx', '.inl',
                                   '.ipp', '.tpp']);

function isSourceFile(fileName) {
    return SOURCE_EXTENSIONS.has(path.extname(fileName).toLowerCase());
}

// Session state from the messages an adapter sends and receives (fed by a
// DebugAdapterTracker): stopped or running, and the thread to resume.
class SessionState {
    constructor() {
        this.stopped = false;
        this.threadId = undefined;
        this.exited = false;
    }

    // A message from the adapter (event or response).
    fromAdapter(msg) {
        if (!msg) {
            return;
        }
        if (msg.type === 'event') {
            if (msg.event === 'stopped') {
                this.stopped = true;
                if (msg.body && msg.body.threadId !== undefined) {
                    this.threadId = msg.body.threadId;
                }
            } else if (msg.event === 'continued') {
                this.stopped = false;
            } else if (msg.event === 'exited' || msg.event === 'terminated') {
                this.stopped = false;
                this.exited = true;
            }
        } else if (msg.type === 'response' && msg.success && RESUMING.has(msg.command)) {
            this.stopped = false;
        }
    }

    // A request VS Code (or this extension) sends to the adapter.
    toAdapter(msg) {
        if (msg && msg.type === 'request' && RESUMING.has(msg.command)) {
            this.stopped = false;
        }
    }
}

const RESUMING = new Set(['continue', 'next', 'stepIn', 'stepOut', 'stepBack', 'reverseContinue', 'goto']);

module.exports = {
    ADAPTERS,
    SUPPORTED,
    isSupported,
    quoteArg,
    hotfixCommand,
    requestFor,
    readReply,
    cleanLines,
    isSourceFile,
    SessionState,
};
