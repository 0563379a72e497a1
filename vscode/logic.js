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

// The command text.  options: allChanged, dryRun, status, revert,
// revertAll, json (the result line for this extension: `hotfix --json`).
//   hotfix [--json] [--dry-run] FILE... | --all-changed
//   hotfix [--json] --revert FILE... | --revert --all
//   hotfix [--json] --status
function hotfixCommand(files, options = {}) {
    const words = ['hotfix'];
    if (options.json) {
        words.push('--json');
    }
    if (options.status) {
        return words.concat('--status').join(' ');
    }
    if (options.revertAll) {
        return words.concat('--revert', '--all').join(' ');
    }
    if (options.revert) {
        words.push('--revert');
    } else if (options.dryRun) {
        words.push('--dry-run');
    }
    if (options.allChanged && !options.revert) {
        return words.concat('--all-changed').join(' ');
    }
    if (!files || files.length === 0) {
        throw new Error('hotfix: no file to apply.');
    }
    return words.concat(files.map(quoteArg)).join(' ');
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

// hotfix --json ends with this line: the result as JSON (hotfix/report.py).
const RESULT_PREFIX = 'hotfix-json: ';

// The result line in `lines` (the last one), and the lines without it.
function takeResult(lines) {
    let result;
    const rest = [];
    for (const line of lines) {
        if (line.startsWith(RESULT_PREFIX)) {
            try {
                result = JSON.parse(line.slice(RESULT_PREFIX.length));
                continue;
            } catch (e) {
                // not ours after all: keep it as text
            }
        }
        rest.push(line);
    }
    return { result, rest };
}

// The line a notification shows for hotfix's message: its first line; for
// "compiling src/jump.c failed:" with the compiler's first error; for
// --all-changed, the summary of each unit (not the list of units to rebuild).
function headline(message) {
    let lines = cleanLines(message);
    const summaries = lines.filter((l) => !/^hotfix: \d+ units? to rebuild: /.test(l));
    if (lines.length > 1 && /^hotfix: \d+ units? to rebuild: /.test(lines[0]) && summaries.length) {
        lines = [summaries.map((l, i) => (i ? l.replace(/^hotfix: /, '') : l)).join('; ')];
    }
    let first = lines[0] || 'hotfix: the command failed.';
    if (/:$/.test(first)) {
        const error = lines.slice(1).find((l) => /\berror\b/.test(l) && !/^error: /.test(l));
        if (error) {
            first += ' ' + error.trim();
        }
    }
    return /^hotfix: /.test(first) ? first : 'hotfix: ' + first;
}

// Read the outcome of a hotfix command.
//   reply: { success, body: {result}, message } — the evaluate response, or
//          { success: false, message } when the request itself failed;
//   output: text of `output` events the adapter sent while it ran (cppdbg
//          and others may print the debugger's words there).
// Returns { ok, message, text, result }: message is the line to show (the
// summary, or the error), text everything hotfix said (without the result
// line), result the object of `hotfix --json` when it printed one.  Without
// one (an older plugin, or no plugin), the text decides: lldb-dap answers
// success even when the command failed, and an error line ("error:
// hotfix: ...", "hotfix: ..." in a failed reply) means failure.
function readReply(reply, output = '') {
    const replyText = reply && reply.success ? (reply.body && reply.body.result) || '' : '';
    const failedText = reply && !reply.success ? reply.message || (reply.body && reply.body.error &&
        reply.body.error.format) || 'the debugger refused the command.' : '';
    const taken = takeResult(cleanLines([replyText, failedText, output].filter(Boolean).join('\n')));
    const lines = taken.rest;
    const text = lines.join('\n');
    if (taken.result && typeof taken.result.ok === 'boolean') {
        const message = headline(taken.result.message || '');
        return { ok: taken.result.ok, message, text: text || message, result: taken.result };
    }
    const ours = lines.filter((l) => /^(error: )?hotfix: /.test(l) || /^error: /.test(l));
    const errorIndex = lines.findIndex((l) => /^error: /.test(l));
    const notLoaded = lines.concat(cleanLines(failedText)).find((l) => NOT_A_COMMAND.test(l));
    if (notLoaded && ours.every((l) => !/^(error: )?hotfix: /.test(l))) {
        return { ok: false, message: 'hotfix: the debugger has no hotfix command; load the plugin in ' +
                 'launch.json (see the README, "VS Code").', text };
    }
    if (!reply || !reply.success || errorIndex >= 0) {
        // The error is the first error line (LLDB) or the failure message
        // (GDB's ^error,msg= through cppdbg); what follows it (compiler
        // diagnostics) stays in `text`.
        const from = errorIndex >= 0 ? lines.slice(errorIndex).map((l, i) => i ? l : l.replace(/^error: /, ''))
            : cleanLines(failedText);
        const message = headline(from.join('\n'));
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

// --- paths ---------------------------------------------------------------

// Absolute paths in hotfix's words, relative to the workspace: folders are
// [{name, path}]; with one folder "src/jump.c", with several
// "folder/src/jump.c" (as VS Code's asRelativePath says them).
function relativize(text, folders) {
    let out = String(text || '');
    const list = (folders || []).filter((f) => f && f.path && f.path !== '/')
        .sort((a, b) => b.path.length - a.path.length);
    for (const f of list) {
        const prefix = f.path.replace(/\/+$/, '') + '/';
        const replacement = list.length > 1 ? f.name + '/' : '';
        out = out.split(prefix).join(replacement);
    }
    return out;
}

// --- Problems: diagnostics and refusals ------------------------------------

// The range of a diagnostic in its line (0-based columns): from the
// compiler's column to its end column, or over the token there (a name, a
// number, or one other character), empty when the column is past the end
// of the line; column 0 (none given): the line's text.
function tokenRange(lineText, column, endColumn) {
    if (lineText === undefined && column) {
        return { start: column - 1, end: Math.max(endColumn || 0, column + 1) - 1 };
    }
    const text = String(lineText || '');
    if (!column) {
        const start = text.search(/\S/);
        return start < 0 ? { start: 0, end: 0 } : { start, end: text.replace(/\s+$/, '').length };
    }
    if (column - 1 >= text.replace(/\s+$/, '').length) {
        // After the end of the line (GCC's "expected ';'"): an empty range
        // there, which VS Code draws one character wide.
        return { start: column - 1, end: column - 1 };
    }
    const start = column - 1;
    if (endColumn && endColumn > column) {
        return { start, end: Math.min(endColumn - 1, Math.max(text.length, start + 1)) };
    }
    const word = /^[A-Za-z0-9_]+/.exec(text.slice(start));
    return { start, end: start + (word ? word[0].length : 1) };
}

function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// The plain name of a function, type or static as hotfix names it
// ("Game::run(int)" -> "run", "ns::Entity" -> "Entity").
function plainName(name) {
    const bare = String(name || '').replace(/\(.*$/, '').replace(/<.*$/, '');
    const parts = bare.split('::');
    return parts[parts.length - 1].trim();
}

// Where a refusal's name is declared in the unit's source text (hotfix
// gives line 0 when its debug information reader cannot tell): a struct,
// class or union's definition; a function's definition at the start of a
// line; a static's declaration (inside its function when it has one).
// Returns {line, start, end} (0-based) or undefined.
function findDeclaration(text, refusal) {
    const name = plainName(refusal && refusal.name);
    if (!name || !/^[A-Za-z_]\w*$/.test(name)) {
        return undefined;
    }
    const lines = String(text || '').split('\n');
    const n = escapeRegExp(name);
    const patterns = {
        type: [new RegExp(`\\b(?:struct|class|union)\\s+${n}\\b(?!\\s*;)`)],
        function: [new RegExp(`^[A-Za-z_][^;=]*\\b${n}\\s*\\((?!.*;\\s*$)`), new RegExp(`\\b${n}\\s*\\(`)],
        static: [new RegExp(`^[^(){}]*\\b${n}\\b\\s*(?:\\[[^\\]]*\\]\\s*)*(?:=|;|,)`)],
    };
    const kind = refusal.kind === 'active' ? 'function' : refusal.kind;
    let from = 0;
    if (kind === 'static' && refusal.scope) {
        const scope = findDeclaration(text, { kind: 'function', name: refusal.scope });
        from = scope ? scope.line : 0;
    }
    // The name itself: for a static the one being declared (`static struct
    // stats stats;`), else the first.
    const nameAt = kind === 'static' ? new RegExp(`\\b${n}\\b(?=\\s*(?:\\[[^\\]]*\\]\\s*)*(?:=|;|,))`)
        : new RegExp(`\\b${n}\\b`);
    for (const pattern of (patterns[kind] || []).concat([new RegExp(`\\b${n}\\b`)])) {
        for (let i = from; i < lines.length; i++) {
            if (pattern.test(lines[i]) && !/^\s*(\/\/|\/\*|\*)/.test(lines[i])) {
                const at = nameAt.exec(lines[i]) || new RegExp(`\\b${n}\\b`).exec(lines[i]);
                return { line: i, start: at.index, end: at.index + name.length };
            }
        }
    }
    return undefined;
}

const SEVERITIES = { error: 'error', warning: 'warning', note: 'information' };

// The Problems of one hotfix result: {file: [{line, start, end, severity,
// message, source}]} (0-based lines and columns).  readText(file) gives a
// file's text (undefined if it cannot be read), to find a token's extent and
// the declaration a refusal names.
function problemsOf(result, readText) {
    const out = {};
    const texts = new Map();
    const linesOf = (file) => {
        if (!texts.has(file)) {
            const text = readText(file);
            texts.set(file, text === undefined ? undefined : String(text).split('\n'));
        }
        return texts.get(file);
    };
    const add = (file, problem) => {
        (out[file] = out[file] || []).push(problem);
    };
    for (const d of (result && result.diagnostics) || []) {
        if (!d.file || !d.line) {
            continue;
        }
        const lines = linesOf(d.file) || [];
        const range = tokenRange(lines[d.line - 1], d.column, d.end_column);
        add(d.file, { line: d.line - 1, start: range.start, end: range.end,
                      severity: SEVERITIES[d.severity] || 'error', message: d.message, source: 'compiler' });
    }
    for (const r of (result && result.refusals) || []) {
        if (!r.file) {
            continue;
        }
        const lines = linesOf(r.file) || [];
        let place;
        if (r.line > 0) {
            const range = tokenRange(lines[r.line - 1], 0);
            place = { line: r.line - 1, start: range.start, end: range.end };
        } else {
            place = findDeclaration(lines.join('\n'), r) || { line: 0, ...tokenRange(lines[0], 0) };
        }
        const message = r.kind === 'active' ? `cannot patch now: ${r.message}; apply again once it has returned.`
            : r.message;
        add(r.file, { ...place, severity: 'error', message, source: 'hotfix' });
    }
    return out;
}

// --- the status bar item --------------------------------------------------

// Text, tooltip and accessible label of the status bar item from a
// session's {active, patches, busy, last: {ok, message}}.
function statusItem(info) {
    const count = (info && info.active) || 0;
    if (info && info.busy) {
        return { text: '$(sync~spin) hotfix', tooltip: 'hotfix: applying…', label: 'hotfix is applying' };
    }
    const last = info && info.last;
    const mark = last ? (last.ok ? ' $(check)' : ' $(error)') : '';
    const patches = `${count} patch${count === 1 ? '' : 'es'}`;
    const text = `$(flame) ${patches}${mark}`;
    const label = patches + (last ? `, last hotfix ${last.ok ? 'succeeded' : 'failed'}` : '');
    const tooltip = [`hotfix: ${count} patch${count === 1 ? '' : 'es'} in effect` +
                     (info && info.patches ? `, ${info.patches} applied in this session` : '')];
    if (last) {
        tooltip.push('Last: ' + last.message);
    }
    tooltip.push('Click to show the Hotfix output.');
    return { text, tooltip: tooltip.join('\n'), label };
}

// --- the DAP wire (for the lldb-dap this extension runs) -------------------

// Content-Length framed messages, as debug adapters speak on stdio.
class DapReader {
    constructor(onMessage) {
        this.onMessage = onMessage;
        this.buffer = Buffer.alloc(0);
    }

    push(chunk) {
        this.buffer = Buffer.concat([this.buffer, chunk]);
        for (;;) {
            const end = this.buffer.indexOf('\r\n\r\n');
            if (end < 0) {
                return;
            }
            const header = this.buffer.slice(0, end).toString('ascii');
            const m = /Content-Length:\s*(\d+)/i.exec(header);
            if (!m) {
                this.buffer = this.buffer.slice(end + 4);        // not a header: skip it
                continue;
            }
            const length = Number(m[1]);
            if (this.buffer.length < end + 4 + length) {
                return;
            }
            const body = this.buffer.slice(end + 4, end + 4 + length).toString('utf8');
            this.buffer = this.buffer.slice(end + 4 + length);
            let msg;
            try {
                msg = JSON.parse(body);
            } catch (e) {
                continue;
            }
            this.onMessage(msg);
        }
    }
}

function frameMessage(msg) {
    const body = Buffer.from(JSON.stringify(msg), 'utf8');
    return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
}

// The stop hotfix causes to patch a running program (lldb-dap: reason
// "exception", "signal SIGSTOP"; other adapters: "pause"), and the stops
// its own --wait makes: a stop for anything else (a breakpoint, a step, a
// crash) is the user's.
function isPauseStop(msg) {
    const body = (msg && msg.body) || {};
    return body.reason === 'pause' || /\bSIGSTOP\b/.test(body.description || '') ||
        /\bSIGSTOP\b/.test(body.text || '');
}

// While hotfix pauses a running program quietly, the adapter's `stopped`
// events for that pause are not shown to VS Code (it would open the
// stopped frame's source and fill the Variables view for a stop the user
// never sees); any other stop is.  open() before the pause, close() once the
// program was continued.  forward(msg) says whether VS Code gets msg.
class QuietPause {
    constructor() {
        this.open_ = false;
        this.userStop = undefined;
    }

    open() {
        this.open_ = true;
        this.userStop = undefined;
    }

    close() {
        this.open_ = false;
    }

    get isOpen() {
        return this.open_;
    }

    forward(msg) {
        if (!this.open_ || !msg || msg.type !== 'event') {
            return true;
        }
        if (msg.event === 'stopped') {
            if (isPauseStop(msg) && !this.userStop) {
                return false;
            }
            this.userStop = msg;
            return true;
        }
        if (msg.event === 'continued') {
            return !!this.userStop;         // VS Code thinks it runs already
        }
        return true;
    }
}

// --- where the user was ----------------------------------------------------

// Tabs to close after a pause-patch-resume: those opened while it ran
// (VS Code shows the stopped frame) that were not open before, are not the
// user's file, and have no unsaved edits.  Tabs are {key, dirty}.
function tabsToClose(openBefore, opened, keep) {
    const before = new Set(openBefore);
    const seen = new Set();
    return opened.filter((t) => {
        if (before.has(t.key) || t.key === keep || t.dirty || seen.has(t.key)) {
            return false;
        }
        seen.add(t.key);
        return true;
    });
}

module.exports = {
    ADAPTERS,
    SUPPORTED,
    isSupported,
    quoteArg,
    hotfixCommand,
    requestFor,
    readReply,
    headline,
    cleanLines,
    RESULT_PREFIX,
    relativize,
    tokenRange,
    findDeclaration,
    problemsOf,
    statusItem,
    DapReader,
    frameMessage,
    isPauseStop,
    QuietPause,
    tabsToClose,
    isSourceFile,
    SessionState,
};
