"""The result of one command for front ends (`hotfix --json`).

After its usual output, hotfix prints one line

    hotfix-json: {"ok": ..., "message": ..., "patches": ..., "active": ...,
                  "diagnostics": [...], "refusals": [...]}

so that an editor can show a compile error at its file, line and column
and a refusal at the function or type it names, without reading sentences
meant for people.  An error still goes where the debugger puts errors
(after this line: GDB's error, LLDB's "error: "), and is in "message" too.

Where each part comes from:
  * message: the lines hotfix said (not its warnings), or the error
    sentence, as the command line shows them;
  * diagnostics: for a unit that failed to compile, GCC's own
    machine-readable diagnostics (the unit is compiled once more with
    -fdiagnostics-format=json, on this failure path only); other compilers'
    text diagnostics (`file:line:col: severity: message`);
  * refusals: a running function at the frame the stack check names; a
    changed static or type, or a function too small to patch, at the unit's
    source with line 0 (the DWARF DIEs native/ returns carry no
    DW_AT_decl_file/decl_line), with what it names ("kind": "active",
    "static", "type" or "function"; "name"; "scope", a static's function)
    so that a front end can find the declaration in the source.
"""
import json
import os
import re
import subprocess

from .build import CompileError
from .errors import HotfixError
from .names import demangle_text

PREFIX = "hotfix-json: "


class Recorder:
    """The adapter's debugger, passed through, keeping what hotfix said and
    the units a command prepared (note_prepared)."""

    def __init__(self, dbg):
        self._dbg = dbg
        self.said = []
        self.prepared = []

    def __getattr__(self, name):
        return getattr(self._dbg, name)

    def write(self, text):
        self.said.extend(text.splitlines())
        self._dbg.write(text)


def note_prepared(dbg, prepared):
    """Called by the pipeline with the units it is about to compile (objects
    with .target.unit, .command, .built, .plan)."""
    if isinstance(dbg, Recorder):
        dbg.prepared = prepared


# What turns tracebacks of internal errors on, as each adapter says it.
DEBUG_COMMANDS = {"gdb": "set hotfix debug on", "lldb": "hotfix-config debug on"}


def run_json(dbg, job, session, error_text):
    """Run job(recorder), then print the result line; an exception is
    re-raised after it.  error_text(exception, debug_command) is the
    sentence the adapters show for it."""
    recorder = Recorder(dbg)
    try:
        job(recorder)
    except Exception as e:
        message = error_text(e, DEBUG_COMMANDS.get(dbg.name, "set hotfix debug on"))
        dbg.write(PREFIX + json.dumps(result(recorder, session, e, message)))
        raise
    dbg.write(PREFIX + json.dumps(result(recorder, session)))


def result(recorder, session, error=None, error_message=""):
    process = session.process
    out = {
        "ok": error is None,
        "message": error_message if error is not None else _summary(recorder.said),
        "patches": process.patches if process else 0,
        "active": sum(len(v) for v in process.units.values()) if process else 0,
        "diagnostics": [],
        "refusals": [],
    }
    if error is not None:
        out["diagnostics"] = compile_diagnostics(recorder.prepared, error)
        if isinstance(error, HotfixError):
            out["refusals"] = frame_refusals(str(error), recorder.prepared) + \
                migration_refusals(str(error), recorder.prepared)
    out["refusals"] += plan_refusals(recorder.prepared)
    return out


def _summary(lines):
    said = [l for l in lines if l.startswith("hotfix: ") and not l.startswith("hotfix: warning: ")]
    return "\n".join(said) or "hotfix: done."


# --- compile errors -------------------------------------------------------

def compile_diagnostics(prepared, error):
    """Diagnostics of every unit whose compile failed."""
    failed = [p for p in prepared if p.built is None]
    if not failed or not _is_compile_error(error):
        return []
    out = []
    for p in failed:
        found = gcc_json_diagnostics(p.command)
        if found is None:
            found = text_diagnostics(str(error), p.command.directory)
        out += [d for d in found if d not in out]
    return out


def _is_compile_error(error):
    # Several units failing at once come as one HotfixError naming them all.
    return isinstance(error, CompileError) or (isinstance(error, HotfixError) and " failed:\n" in str(error))


def gcc_json_diagnostics(command):
    """Compile the unit once more with -fdiagnostics-format=json (GCC 9 and
    later) and read its diagnostics; None when the compiler is not GCC or
    gave no JSON."""
    if "clang" in os.path.basename(command.argv[0]):
        return None
    argv = command.argv + ["-fdiagnostics-format=json", "-c", command.source, "-o", os.devnull]
    try:
        proc = subprocess.run(argv, cwd=command.directory, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = proc.stderr.decode(errors="replace").strip()
    start = text.find("[")
    try:
        items = json.loads(text[start:]) if start >= 0 else None
    except ValueError:
        return None
    if not isinstance(items, list):
        return None
    return from_gcc_json(items, command.directory)


def from_gcc_json(items, directory):
    """GCC's JSON diagnostics (with their notes) as our diagnostics."""
    out = []
    for item in items:
        locations = item.get("locations") or []
        if locations and "caret" in locations[0]:
            caret = locations[0]["caret"]
            d = _diagnostic(caret.get("file", ""), caret.get("line", 0), caret.get("column", 0),
                            item.get("kind", "error"), item.get("message", ""), directory)
            finish = locations[0].get("finish")
            if finish and finish.get("line") == caret.get("line"):
                d["end_column"] = finish.get("column", 0) + 1
            out.append(d)
        out += from_gcc_json(item.get("children") or [], directory)
    return out


# file:line:col: severity: message (GCC and clang; the column may be missing).
_TEXT_DIAGNOSTIC = re.compile(r"^(?P<file>[^:\s][^:]*):(?P<line>\d+):(?:(?P<column>\d+):)?\s*"
                              r"(?:fatal )?(?P<severity>error|warning|note):\s*(?P<message>.*)$")


def text_diagnostics(text, directory):
    out = []
    for line in text.splitlines():
        m = _TEXT_DIAGNOSTIC.match(line.strip())
        if m:
            out.append(_diagnostic(m.group("file"), int(m.group("line")), int(m.group("column") or 0),
                                   m.group("severity"), m.group("message"), directory))
    return out


def _diagnostic(file, line, column, severity, message, directory):
    severity = {"fatal error": "error"}.get(severity, severity)
    if severity not in ("error", "warning", "note"):
        severity = "error"
    return {"file": os.path.normpath(os.path.join(directory, file)) if file else "",
            "line": line, "column": column, "severity": severity, "message": message}


# --- refusals ---------------------------------------------------------------

# The stack check's sentence for a running function (apply.check_stacks,
# apply._refusal): "cannot patch now: F is active in thread N, frame #M:
# FUNCTION (FILE:LINE); G is active ... . Use --wait ...".
_ACTIVE = re.compile(r"^(?P<what>(?P<function>.+?) is active in thread \d+, frame #\d+: .*? "
                     r"\((?P<file>[^()]+):(?P<line>\d+)\))(?:\.|$| \()")


def frame_refusals(message, prepared):
    """A refusal for each running function the error names, at its frame."""
    out = []
    for piece in message.split("cannot patch now: ", 1)[-1].split("; "):
        m = _ACTIVE.match(piece)
        if m:
            out.append({"message": m.group("what"), "file": _source_path(m.group("file"), prepared),
                        "line": int(m.group("line")), "kind": "active", "name": m.group("function"),
                        "scope": ""})
    return out


def _source_path(name, prepared):
    """A frame's file as the debugger names it (GDB: as the compiler named
    it; LLDB: relative to the debugger's directory, or absolute) as an
    absolute path."""
    if os.path.isabs(name):
        return os.path.normpath(name)
    for p in prepared:
        unit = p.target.unit
        if unit.name == name or unit.path.endswith(os.sep + os.path.normpath(name)):
            return unit.path
    for p in prepared:
        candidate = os.path.normpath(os.path.join(p.target.unit.comp_dir, name))
        if os.path.exists(candidate):
            return candidate
    return os.path.abspath(name)


# What a plan refuses (plan.py), and what each sentence names.
_PLAN_REFUSALS = [
    ("static", re.compile(r"^the type of (?P<name>\S+?)(?: in (?P<scope>.+?)\(\))? changed from ")),
    ("type", re.compile(r"^the layout of (?P<name>.+?) changed \(")),
    ("function", re.compile(r"^(?P<name>\S+) is too small to patch: ")),
]


# A static the plan migrates, refused when its values are read (a value that
# does not fit, a pointer into its old storage): sentences of the error.
_MIGRATION = re.compile(r"(?=the type of \S+ (?:in \S+\(\) )?changed from )")


def migration_refusals(message, prepared):
    """What the error names of statics refused at apply time (those the plan
    refused are plan_refusals'), at the unit's source as plan_refusals."""
    planned = {demangle_text(r) for p in prepared if p.plan is not None for r in p.plan.refusals}
    out = []
    for piece in (s.strip() for s in _MIGRATION.split(message)[1:]):
        owner = next((p for p in prepared if p.plan is not None for m in p.plan.migrations
                      if piece.startswith("the type of %s " % m.label)), None)
        if owner is not None and piece not in planned:
            out.append(_refusal(piece, owner.target.unit.path))
    return out


def plan_refusals(prepared):
    """What a plan refused (a changed static or type, a function too small
    for a jump), at the unit's source: line 0, the place is not known."""
    return [_refusal(text, p.target.unit.path) for p in prepared if p.plan is not None for text in p.plan.refusals]


def _refusal(text, path):
    text = demangle_text(text)
    refusal = {"message": text, "file": path, "line": 0, "kind": "", "name": "", "scope": ""}
    for kind, pattern in _PLAN_REFUSALS:
        m = pattern.match(text)
        if m:
            refusal.update(kind=kind, name=m.group("name"), scope=m.groupdict().get("scope") or "")
            break
    return refusal
