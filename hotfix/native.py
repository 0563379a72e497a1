"""ctypes binding of native/libhotfix.so (see native/hotfix.h).

One table declares every prototype; the library returns JSON for lists, so
this module stays a thin layer: open images, ask questions, raise
NativeError with the library's own text.
"""
import ctypes
import json
import os
import threading

from .errors import HotfixError

_HERE = os.path.dirname(os.path.abspath(__file__))
_PLACES = [
    os.environ.get("HOTFIX_NATIVE_LIB", ""),
    os.path.join(_HERE, "..", "native", "libhotfix.so"),   # a source checkout
    os.path.join(_HERE, "libhotfix.so"),                   # an installed package
    "/usr/local/lib/hotfix/libhotfix.so",
]

JUMP_ABS14, JUMP_R11, JUMP_REL32, JUMP_SELF = 1, 2, 3, 4
JUMP_A64_LDR, JUMP_A64_B, JUMP_A64_SELF = 5, 6, 7
ABI_VERSION = 10
DIES_PARAMETERS = 1      # HF_DIES_PARAMETERS


class NativeError(HotfixError):
    pass


class NotBuilt(HotfixError):
    """libhotfix.so is missing or out of date: not a fact about a file
    (callers that take a NativeError as "stripped" must not see this one)."""


_c = ctypes
_PROTOTYPES = {
    "hf_abi_version": (_c.c_int, []),
    "hf_strerror": (_c.c_char_p, [_c.c_int]),
    "hf_error_detail": (_c.c_char_p, []),
    "hf_free": (None, [_c.c_void_p]),
    "hf_open": (_c.c_int, [_c.c_char_p, _c.POINTER(_c.c_void_p)]),
    "hf_close": (None, [_c.c_void_p]),
    "hf_symbols_json": (_c.c_int, [_c.c_void_p, _c.POINTER(_c.c_void_p)]),
    "hf_link_json": (_c.c_int, [_c.c_void_p, _c.POINTER(_c.c_void_p)]),
    "hf_diff_json": (_c.c_int, [_c.c_void_p, _c.c_void_p, _c.c_char_p, _c.POINTER(_c.c_void_p)]),
    "hf_sites_json": (_c.c_int, [_c.c_void_p, _c.POINTER(_c.c_void_p)]),
    "hf_live_sites_json": (_c.c_int, [_c.c_void_p, _c.c_char_p, _c.c_char_p, _c.POINTER(_c.c_void_p)]),
    "hf_users_json": (_c.c_int, [_c.c_void_p, _c.c_uint64, _c.c_uint64, _c.POINTER(_c.c_void_p)]),
    "hf_line_files_json": (_c.c_int, [_c.c_void_p, _c.POINTER(_c.c_void_p)]),
    "hf_units_json": (_c.c_int, [_c.c_void_p, _c.POINTER(_c.c_void_p)]),
    "hf_header_json": (_c.c_int, [_c.c_void_p, _c.POINTER(_c.c_void_p)]),
    "hf_unit_dies_json": (_c.c_int, [_c.c_void_p, _c.c_uint64, _c.c_uint, _c.POINTER(_c.c_void_p)]),
    "hf_frame_map_json": (_c.c_int, [_c.c_void_p, _c.c_int64, _c.c_char_p, _c.c_void_p, _c.c_int64, _c.c_char_p,
                                     _c.POINTER(_c.c_void_p)]),
    "hf_place_json": (_c.c_int, [_c.c_void_p, _c.c_char_p, _c.c_uint64, _c.c_char_p, _c.POINTER(_c.c_void_p)]),
    "hf_encode_jump": (_c.c_int, [_c.c_int, _c.c_uint64, _c.c_uint64, _c.c_char_p, _c.c_size_t,
                                  _c.POINTER(_c.c_size_t)]),
    "hf_jump_size": (_c.c_size_t, [_c.c_int]),
    "hf_decode_jump": (_c.c_int, [_c.c_int, _c.c_char_p, _c.c_size_t, _c.c_uint64, _c.POINTER(_c.c_int),
                                  _c.POINTER(_c.c_uint64)]),
}

_lib = None


def lib():
    global _lib
    if _lib is None:
        for place in _PLACES:
            if place and os.path.exists(place):
                loaded = ctypes.CDLL(os.path.abspath(place))
                break
        else:
            raise NotBuilt("libhotfix.so is not built: run `make` at the top of the hotfix "
                              "repository.")
        for name, (res, args) in _PROTOTYPES.items():
            fn = getattr(loaded, name)
            fn.restype, fn.argtypes = res, args
        if loaded.hf_abi_version() != ABI_VERSION:
            raise NotBuilt("libhotfix.so is out of date: run `make` again.")
        _lib = loaded
    return _lib


def _check(status):
    if status:
        raise NativeError(lib().hf_error_detail().decode(errors="replace"))


def _json(call, *args):
    out = ctypes.c_void_p()
    _check(call(*args, ctypes.byref(out)))
    try:
        return json.loads(ctypes.string_at(out.value).decode())
    finally:
        lib().hf_free(out)


class Image:
    """An ELF file opened once and asked several questions.

    One question at a time: the command and the preparer (prepare.py) ask
    the program's images from two threads, and the library reads some
    parts of a file lazily into its handle."""

    _handle = None

    def __init__(self, path):
        self.path = path
        self._lock = threading.RLock()
        handle = ctypes.c_void_p()
        _check(lib().hf_open(os.fsencode(path), ctypes.byref(handle)))
        self._handle = handle
        self._symbols = None
        self._link = None
        self._header = None

    def close(self):
        with self._lock:
            if self._handle:
                lib().hf_close(self._handle)
                self._handle = None

    def __del__(self):
        if self._handle:
            lib().hf_close(self._handle)
            self._handle = None

    def _ask(self, call, *args):
        with self._lock:
            return _json(call, self._handle, *args)

    def symbols(self):
        """{"type", "got", "symbols": [...]} as hf_symbols_json describes."""
        if self._symbols is None:
            self._symbols = self._ask(lib().hf_symbols_json)
        return self._symbols

    def link_needs(self):
        """{"sections", "undefined"} (hf_link_json): what a link asks, without
        reading every symbol."""
        if self._symbols is not None:
            return self._symbols
        if self._link is None:
            self._link = self._ask(lib().hf_link_json)
        return self._link

    def header(self):
        """{"type", "machine", "dynamic", "entry", "dynamic_address"} (hf_header_json)."""
        if self._header is None:
            self._header = self._ask(lib().hf_header_json)
        return self._header

    def units(self):
        """{"debug_info": bool, "units": [...]} (see hf_units_json)."""
        return self._ask(lib().hf_units_json)

    def unit_dies(self, cu_offset, parameters=False):
        """The unit's DIEs as hf_unit_dies_json lists them (with parameters:
        formal parameters too, with their types)."""
        return self._ask(lib().hf_unit_dies_json, cu_offset, DIES_PARAMETERS if parameters else 0)

    def line_files(self):
        """{offset in .debug_line: [file paths]} (see hf_line_files_json)."""
        return {int(k): v for k, v in self._ask(lib().hf_line_files_json).items()}

    def sites(self):
        return self._ask(lib().hf_sites_json)

    def live_sites(self, roots, bound):
        """The sites the new code reaches from the functions named in roots,
        not through the functions named in bound (hf_live_sites_json)."""
        return self._ask(lib().hf_live_sites_json, "\n".join(sorted(roots)).encode(),
                         "\n".join(sorted(bound)).encode())

    def users(self, lo, hi):
        """The functions whose code refers into [lo, hi) (hf_users_json)."""
        return self._ask(lib().hf_users_json, lo, hi)

    def diff(self, base, base_functions=None):
        """Compare this object's functions with base (an Image).  With
        base_functions [(name, address, size)] base is a linked image."""
        text = None
        if base_functions is not None:
            text = "".join("%s %x %x\n" % f for f in base_functions).encode()
        first, second = sorted((self, base), key=id)      # one order: no deadlock
        with first._lock, second._lock:
            return _json(lib().hf_diff_json, self._handle, base._handle, text)

    def frame_map(self, old_cu, old_function, new, new_cu, new_function):
        """Where frames of old_function (this image's: "NAME" in an object,
        "NAME ADDRESS SIZE" in a linked image) go on in new_function of
        the object new (an Image): hf_frame_map_json's result."""
        return _json(lib().hf_frame_map_json, self._handle, old_cu, old_function.encode(), new._handle, new_cu,
                     new_function.encode())

    def place(self, function, base, addresses):
        """This object's function laid out at base (hf_place_json): with
        addresses None, what it needs; else {"NAME": address} resolved as
        text, the bytes."""
        return _json(lib().hf_place_json, self._handle, function.encode(), base,
                     None if addresses is None else addresses.encode())


def encode_jump(kind, source, target):
    buf = ctypes.create_string_buffer(16)
    n = ctypes.c_size_t()
    _check(lib().hf_encode_jump(kind, source, target, buf, len(buf), ctypes.byref(n)))
    return buf.raw[:n.value]


def jump_size(kind):
    return lib().hf_jump_size(kind)


def decode_jump(machine, data, at):
    """(kind, target) of a jump hotfix writes for machine (ELF e_machine),
    or (0, 0)."""
    kind, target = ctypes.c_int(), ctypes.c_uint64()
    _check(lib().hf_decode_jump(machine, data, len(data), at, ctypes.byref(kind), ctypes.byref(target)))
    return kind.value, target.value
