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
