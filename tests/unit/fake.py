"""A fake of the Debugger interface for unit tests of the core."""
from hotfix.debugger import Debugger, Frame, Region, Thread


class FakeDebugger(Debugger):
    name = "fake"

    def __init__(self, state="stopped", memory=None, threads=None, symbols=None, regions=None, registers=None):
        self.state = state
        # The whole memory is one writable mapping unless told otherwise.
        self.regions = regions
        self.regs = registers or []
        self.memory = bytearray(memory or bytes(0x1000))
        self._threads = threads or [Thread(1, "main", [Frame(0, 0x10)])]
        self.symbols = symbols or {}
        self.out = []
        self.fail_write_at = None      # address whose write raises
        self.ignore_write_at = None    # address whose write silently does nothing

    def process_state(self):
        return self.state

    def pid(self):
        return 42

    def executable(self):
        return "/nonexistent/prog"

    def symbol_address(self, name):
        return self.symbols.get(name)

    def read_memory(self, address, size):
        return bytes(self.memory[address:address + size])

    def write_memory(self, address, data):
        if address == self.fail_write_at:
            raise OSError("Cannot access memory at address 0x%x" % address)
        if address == self.ignore_write_at:
            return
        self.memory[address:address + len(data)] = data

    def threads(self):
        return self._threads

    def memory_regions(self):
        return self.regions if self.regions is not None else [Region(0, len(self.memory), True, True, False)]

    def registers(self):
        return self.regs

    def write(self, text):
        self.out.append(text)
