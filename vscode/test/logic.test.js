'use strict';
// node --test: the extension's decisions, without VS Code.  The reply texts
// are what the adapters answered here (tests/e2e/test_vscode_adapters.py
// drives the real ones).
const test = require('node:test');
const assert = require('node:assert');
const logic = require('../logic');

const SUMMARY = 'hotfix: src/jump.c: 2 functions redirected (jump_label, step_player), 2 statics kept — ' +
    'compile 34 ms, link 13 ms, load 67 ms, patch 2 ms';

test('each debug type gets the request its adapter runs as a debugger command', () => {
    assert.deepStrictEqual(logic.requestFor('cppdbg', 'hotfix src/jump.c'),
        { command: 'evaluate', arguments: { expression: '-exec hotfix src/jump.c', context: 'repl' } });
    assert.deepStrictEqual(logic.requestFor('lldb', 'hotfix src/jump.c'),
        { command: 'evaluate', arguments: { expression: 'hotfix src/jump.c', context: '_command' } });
    for (const type of ['lldb-dap', 'lldb-vscode', 'hotfix-lldb-dap']) {
        assert.deepStrictEqual(logic.requestFor(type, 'hotfix src/jump.c', {}, 7),
            { command: 'evaluate', arguments: { expression: '`hotfix src/jump.c', context: 'repl', frameId: 7 } });
    }
});

test("lldb-dap's commandEscapePrefix from launch.json is honoured", () => {
    assert.strictEqual(logic.requestFor('lldb-dap', 'hotfix a.c', { commandEscapePrefix: '' }).arguments.expression,
        'hotfix a.c');
    assert.strictEqual(logic.requestFor('lldb-dap', 'hotfix a.c', { commandEscapePrefix: '!' }).arguments.expression,
        '!hotfix a.c');
});

test('an unsupported debug type is refused in one sentence', () => {
    assert.throws(() => logic.requestFor('python', 'hotfix a.c'),
        /^Error: hotfix: debug sessions of type "python" are not supported \(supported: cppdbg, lldb, lldb-dap/);
    assert.strictEqual(logic.isSupported('python'), false);
    assert.strictEqual(logic.isSupported('toString'), false);
});

test('the command names files, quoted only when needed', () => {
    assert.strictEqual(logic.hotfixCommand(['/home/me/src/jump.c']), 'hotfix /home/me/src/jump.c');
    assert.strictEqual(logic.hotfixCommand(['/tmp/my game/a "b".c', 'x.c']),
        'hotfix "/tmp/my game/a \\"b\\".c" x.c');
    assert.strictEqual(logic.hotfixCommand([], { allChanged: true }), 'hotfix --all-changed');
    assert.throws(() => logic.hotfixCommand([]), /no file to apply/);
});

test('lldb-dap success: the summary, without the echoed command', () => {
    const r = logic.readReply({ success: true, body: { result: '(lldb) hotfix src/jump.c\n' + SUMMARY + '\n' } });
    assert.deepStrictEqual([r.ok, r.message], [true, SUMMARY]);
});

test('lldb-dap says success for a failed command: the text decides', () => {
    const r = logic.readReply({ success: true, body: { result: '(lldb) hotfix src/nosuch.c\nerror: hotfix: src/nosuch.c ' +
        'is not a source file of the program; did you mean src/main.c or src/jump.c or src/render.c?\n' } });
    assert.strictEqual(r.ok, false);
    assert.strictEqual(r.message, 'hotfix: src/nosuch.c is not a source file of the program; did you mean src/main.c ' +
        'or src/jump.c or src/render.c?');
});

test('a compile error: the first line is the message, the diagnostics stay in the text', () => {
    const r = logic.readReply({ success: true, body: { result: 'error: hotfix: src/jump.c does not compile:\n' +
        "src/jump.c:12:5: error: expected ';' before '}' token\n" } });
    assert.strictEqual(r.ok, false);
    assert.strictEqual(r.message, "hotfix: src/jump.c does not compile: src/jump.c:12:5: error: expected ';' before '}' token");
    assert.match(r.text, /expected ';'/);
});

test('cppdbg: GDB errors arrive as a failed evaluate (^error,msg=)', () => {
    const r = logic.readReply({ success: false, message: 'hotfix: the program is not running.' });
    assert.deepStrictEqual([r.ok, r.message], [false, 'hotfix: the program is not running.']);
    const compile = logic.readReply({ success: false, message: 'hotfix: compiling a.c failed:\na.c:3:1: error: oops' });
    assert.strictEqual(compile.message, 'hotfix: compiling a.c failed: a.c:3:1: error: oops');
    const other = logic.readReply({ success: false, message: 'Unable to perform this action because the process is running.' });
    assert.deepStrictEqual([other.ok, other.message],
        [false, 'hotfix: Unable to perform this action because the process is running.']);
});

test('cppdbg: the summary may come as console output rather than in the reply', () => {
    const r = logic.readReply({ success: true, body: { result: '' } }, SUMMARY + '\n');
    assert.deepStrictEqual([r.ok, r.message], [true, SUMMARY]);
});

test('CodeLLDB: the _command result text; warnings are not the summary', () => {
    const r = logic.readReply({ success: true, body: { result: 'hotfix: warning: no compile_commands.json\r\n' +
        SUMMARY + '\r\n' } });
    assert.deepStrictEqual([r.ok, r.message], [true, SUMMARY]);
    const warnOnly = logic.readReply({ success: true, body: { result: 'hotfix: warning: x\n' } });
    assert.deepStrictEqual([warnOnly.ok, warnOnly.message], [true, 'hotfix: done.']);
});

test('no hotfix command in the debugger: say how to load the plugin', () => {
    for (const reply of [
        { success: true, body: { result: "error: 'hotfix' is not a valid command.\n" } },
        { success: false, message: 'Undefined command: "hotfix".  Try "help".' },
    ]) {
        const r = logic.readReply(reply);
        assert.strictEqual(r.ok, false);
        assert.match(r.message, /^hotfix: the debugger has no hotfix command; load the plugin in launch.json/);
    }
});

test('nothing to do is a success with its own words', () => {
    const r = logic.readReply({ success: true, body: { result: 'hotfix: src/jump.c: no function changed; nothing to do.\n' } });
    assert.deepStrictEqual([r.ok, r.message], [true, 'hotfix: src/jump.c: no function changed; nothing to do.']);
});

test('source files: C and C++ sources and headers only', () => {
    for (const f of ['a.c', 'b.cpp', 'c.cc', 'd.h', 'e.hpp', 'F.C', 'g.cxx']) {
        assert.ok(logic.isSourceFile('/x/' + f), f);
    }
    for (const f of ['Makefile', 'a.py', 'notes.txt', 'launch.json']) {
        assert.ok(!logic.isSourceFile('/x/' + f), f);
    }
});

test('session state follows stops and resumes', () => {
    const s = new logic.SessionState();
    assert.strictEqual(s.stopped, false);
    s.fromAdapter({ type: 'event', event: 'stopped', body: { threadId: 4, reason: 'breakpoint' } });
    assert.deepStrictEqual([s.stopped, s.threadId], [true, 4]);
    s.toAdapter({ type: 'request', command: 'continue', arguments: { threadId: 4 } });
    assert.strictEqual(s.stopped, false);
    s.fromAdapter({ type: 'event', event: 'stopped', body: { threadId: 4 } });
    s.fromAdapter({ type: 'response', command: 'evaluate', success: true });
    assert.strictEqual(s.stopped, true);
    s.fromAdapter({ type: 'event', event: 'continued', body: { threadId: 4 } });
    assert.strictEqual(s.stopped, false);
    s.fromAdapter({ type: 'event', event: 'exited', body: { exitCode: 0 } });
    assert.strictEqual(s.exited, true);
});

// --- hotfix --json --------------------------------------------------------------

const RESULT = {
    ok: false, message: 'hotfix: compiling /w/jump/src/jump.c failed:\nsrc/jump.c: In function ‘jump_label’:\n' +
        "src/jump.c:35:49: error: expected ‘;’ before ‘}’ token", patches: 1, active: 1,
    diagnostics: [{ file: '/w/jump/src/jump.c', line: 35, column: 49, severity: 'error',
                    message: 'expected ‘;’ before ‘}’ token' }],
    refusals: [],
};

test('every command asks for the result line', () => {
    assert.strictEqual(logic.hotfixCommand(['/w/a.c'], { json: true }), 'hotfix --json /w/a.c');
    assert.strictEqual(logic.hotfixCommand([], { json: true, allChanged: true }), 'hotfix --json --all-changed');
    assert.strictEqual(logic.hotfixCommand(['/w/a.c'], { json: true, dryRun: true }), 'hotfix --json --dry-run /w/a.c');
    assert.strictEqual(logic.hotfixCommand([], { json: true, dryRun: true, allChanged: true }),
        'hotfix --json --dry-run --all-changed');
    assert.strictEqual(logic.hotfixCommand([], { json: true, status: true }), 'hotfix --json --status');
    assert.strictEqual(logic.hotfixCommand(['/w/a.c'], { json: true, revert: true }), 'hotfix --json --revert /w/a.c');
    assert.strictEqual(logic.hotfixCommand([], { json: true, revertAll: true }), 'hotfix --json --revert --all');
});

test('the result line decides, and is not shown as text (lldb-dap, then GDB through cppdbg)', () => {
    const line = logic.RESULT_PREFIX + JSON.stringify(RESULT);
    const lldb = logic.readReply({ success: true, body: { result: '(lldb) hotfix --json /w/jump/src/jump.c\n' + line +
        '\nerror: hotfix: compiling /w/jump/src/jump.c failed:\nsrc/jump.c:35:49: error: expected ‘;’\n' } });
    assert.strictEqual(lldb.ok, false);
    assert.strictEqual(lldb.message, 'hotfix: compiling /w/jump/src/jump.c failed: src/jump.c:35:49: error: ' +
        'expected ‘;’ before ‘}’ token');
    assert.deepStrictEqual(lldb.result, RESULT);
    assert.doesNotMatch(lldb.text, /hotfix-json/);
    const ok = { ...RESULT, ok: true, message: SUMMARY, diagnostics: [] };
    const gdb = logic.readReply({ success: true, body: { result: '' } }, SUMMARY + '\n' + logic.RESULT_PREFIX +
        JSON.stringify(ok) + '\n');
    assert.deepStrictEqual([gdb.ok, gdb.message, gdb.text, gdb.result.patches], [true, SUMMARY, SUMMARY, 1]);
});

test('--all-changed: the notification gives each unit\'s summary', () => {
    assert.strictEqual(logic.headline('hotfix: 1 unit to rebuild: src/jump.c (edited)\n' + SUMMARY), SUMMARY);
    assert.strictEqual(logic.headline('hotfix: 2 units to rebuild: a.c (edited), b.c (edited)\nhotfix: a.c: 1 function ' +
        'redirected (f)\nhotfix: b.c: no function changed; nothing to do.'),
    'hotfix: a.c: 1 function redirected (f); b.c: no function changed; nothing to do.');
});

test('paths in messages are relative to the workspace', () => {
    const one = [{ name: 'examples', path: '/tmp/ws/examples' }];
    assert.strictEqual(logic.relativize('hotfix: /tmp/ws/examples/jump/src/jump.c: 1 function redirected', one),
        'hotfix: jump/src/jump.c: 1 function redirected');
    assert.strictEqual(logic.relativize('hotfix: /tmp/ws/examples2/a.c and /usr/include/x.h', one),
        'hotfix: /tmp/ws/examples2/a.c and /usr/include/x.h');
    const two = one.concat([{ name: 'lib', path: '/tmp/ws/examples/lib' }]);
    assert.strictEqual(logic.relativize('/tmp/ws/examples/lib/a.c /tmp/ws/examples/b.c', two),
        'lib/a.c examples/b.c');
});

const JUMP_C = [
    '#include "jump.h"',                      // 1
    '',
    'struct stats {',                         // 3
    '    int jumps;',
    '};',
    'static struct stats stats;',             // 6
    '',
    'const char *jump_label(const struct player *p)',   // 8
    '{',
    '    static int calls;',                  // 10
    '    calls++;',
    '    return p->vy > 0.0 ? "airborne!" : "falling"',  // 12
    '}',
    'void run(void)',                         // 14
    '{',
    '    for (;;)',
    '        step(jump_label(0));',           // 17
    '}',
].join('\n');

test('a compile error becomes a Problem over the token at its column', () => {
    // Past the end of the line (a missing ';'): there, empty.
    assert.deepStrictEqual(logic.tokenRange('  x = f(a)  ', 11), { start: 10, end: 10 });
    assert.deepStrictEqual(logic.tokenRange('  x = f(a)', 4), { start: 3, end: 4 });
    assert.deepStrictEqual(logic.tokenRange('  return total', 10), { start: 9, end: 14 });
    const problems = logic.problemsOf({ diagnostics: [
        { file: '/w/jump.c', line: 12, column: 49, severity: 'error', message: 'expected ‘;’' },
        { file: '/w/jump.c', line: 10, column: 16, severity: 'warning', message: 'unused' },
        { file: '/w/jump.c', line: 8, column: 13, end_column: 23, severity: 'note', message: 'here' },
        { file: '/w/gone.h', line: 3, column: 2, severity: 'error', message: 'x' },
    ], refusals: [] }, (f) => (f === '/w/jump.c' ? JUMP_C : undefined));
    assert.deepStrictEqual(problems['/w/jump.c'], [
        { line: 11, start: 48, end: 48, severity: 'error', message: 'expected ‘;’', source: 'compiler' },
        { line: 9, start: 15, end: 20, severity: 'warning', message: 'unused', source: 'compiler' },
        { line: 7, start: 12, end: 22, severity: 'information', message: 'here', source: 'compiler' },
    ]);
    assert.deepStrictEqual(problems['/w/gone.h'], [
        { line: 2, start: 1, end: 2, severity: 'error', message: 'x', source: 'compiler' }]);
});

test('a refusal becomes a Problem at the frame, or at the declaration it names', () => {
    const at = (r) => {
        const p = logic.problemsOf({ diagnostics: [], refusals: [{ file: '/w/jump.c', ...r }] }, () => JUMP_C)['/w/jump.c'][0];
        return [p.line, p.start, p.end, p.message];
    };
    assert.deepStrictEqual(at({ line: 17, kind: 'active', name: 'run', message: 'run is active in thread 1, frame #1: ' +
        'run (jump.c:17)' }), [16, 8, 28, 'cannot patch now: run is active in thread 1, frame #1: run (jump.c:17); ' +
        'apply again once it has returned.']);
    assert.deepStrictEqual(at({ line: 0, kind: 'type', name: 'stats', message: 'the layout of stats changed' }).slice(0, 3),
        [2, 7, 12]);
    assert.deepStrictEqual(at({ line: 0, kind: 'static', name: 'stats', message: 'm' }).slice(0, 3), [5, 20, 25]);
    assert.deepStrictEqual(at({ line: 0, kind: 'static', name: 'calls', scope: 'jump_label', message: 'm' }).slice(0, 3),
        [9, 15, 20]);
    assert.deepStrictEqual(at({ line: 0, kind: 'function', name: 'jump_label', message: 'm' }).slice(0, 3), [7, 12, 22]);
    assert.deepStrictEqual(at({ line: 0, kind: 'function', name: 'ns::Game::run(int)', message: 'm' }).slice(0, 3),
        [13, 5, 8]);
    // A name the source does not have: the first line.
    assert.deepStrictEqual(at({ line: 0, kind: 'type', name: 'Entity', message: 'm' }).slice(0, 3), [0, 0, 17]);
});

test('the status bar item: patches in effect and the last result', () => {
    assert.deepStrictEqual(logic.statusItem({}).text, '$(flame) 0 patches');
    const ok = logic.statusItem({ active: 1, patches: 1, last: { ok: true, message: SUMMARY } });
    assert.strictEqual(ok.text, '$(flame) 1 patch $(check)');
    assert.strictEqual(ok.label, '1 patch, last hotfix succeeded');
    assert.match(ok.tooltip, /1 patch in effect, 1 applied in this session\nLast: hotfix: src\/jump\.c: 2 functions/);
    assert.strictEqual(logic.statusItem({ active: 2, patches: 3, last: { ok: false, message: 'x' } }).text,
        '$(flame) 2 patches $(error)');
    assert.strictEqual(logic.statusItem({ active: 2, busy: true }).text, '$(sync~spin) hotfix');
});

test('DAP messages are read across chunk boundaries, and framed back', () => {
    const seen = [];
    const reader = new logic.DapReader((m) => seen.push(m));
    const a = logic.frameMessage({ seq: 1, type: 'event', event: 'output', body: { output: 'héllo\n' } });
    const b = logic.frameMessage({ seq: 2, type: 'response', request_seq: 9, success: true });
    const all = Buffer.concat([a, b]);
    for (let i = 0; i < all.length; i += 7) {
        reader.push(all.slice(i, i + 7));
    }
    assert.deepStrictEqual(seen.map((m) => m.seq), [1, 2]);
    assert.strictEqual(seen[0].body.output, 'héllo\n');
});

test("a quiet pause hides hotfix's own stop and nothing else", () => {
    const q = new logic.QuietPause();
    const pause = { type: 'event', event: 'stopped', body: { reason: 'exception', description: 'signal SIGSTOP', threadId: 3 } };
    const breakpoint = { type: 'event', event: 'stopped', body: { reason: 'breakpoint', threadId: 3 } };
    const output = { type: 'event', event: 'output', body: { output: 'x' } };
    assert.strictEqual(q.forward(pause), true);                 // not in a hotfix: shown
    q.open();
    assert.strictEqual(q.forward(pause), false);
    assert.strictEqual(q.forward({ type: 'event', event: 'stopped', body: { reason: 'pause' } }), false);
    assert.strictEqual(q.forward({ type: 'event', event: 'continued', body: {} }), false);
    assert.strictEqual(q.forward(output), true);
    assert.strictEqual(q.forward({ type: 'response', command: 'threads', success: true }), true);
    assert.strictEqual(q.forward(breakpoint), true);            // the user's stop
    assert.strictEqual(q.userStop, breakpoint);
    assert.strictEqual(q.forward(pause), true);                 // after it, VS Code sees every stop
    q.close();
    q.open();
    assert.strictEqual(q.userStop, undefined);
    q.close();
    assert.strictEqual(q.forward(pause), true);
});

test('tabs opened by the pause are closed; the user\'s and edited ones stay', () => {
    const close = logic.tabsToClose(['file:///w/jump.c', 'file:///w/main.c'], [
        { key: 'debug:clock_nanosleep', dirty: false },
        { key: 'file:///w/main.c', dirty: false },
        { key: 'file:///w/jump.c', dirty: false },
        { key: 'file:///w/render.c', dirty: true },
        { key: 'debug:clock_nanosleep', dirty: false },
    ], 'file:///w/jump.c');
    assert.deepStrictEqual(close.map((t) => t.key), ['debug:clock_nanosleep']);
});
