# lgdbg's gdb commands, in the manner of the kernel's own lx- scripts.
#
#   source lgdbg.py          (or let `lgdbg gdbinit` do it)
#
# Commands (each runs an lgdbg `monitor` command and prints its answer):
#   lg-walk ADDR     guest and shadow page-table walks of ADDR side by side
#   lg-linear        the Host's linear_pages flag and the pgdir it ended with
#   lg-hcalls [N]    the last N hypercalls, decoded
#   lg-events [N]    the last N Host events
#   lg-slots         the shadow pgdir cache
#   lg-host          the Host's state of the Guest
# Convenience functions (values, for display/breakpoint conditions/Python):
#   $lg_shadow_cr3()   the shadow root the CPU walks
#   $lg_linear_pages() 1 while linear_pages is on
#   $lg_icount()       instructions the Guest has executed
#   $lg_slot()         the current pgdir cache slot
#
# They need a target served by `lgdbg run --gdb`: the values come from the
# stub's org.lgdbg.lguest.host registers, the commands from its monitor.

import gdb


def _monitor(line):
    return gdb.execute("monitor " + line, to_string=True)


class _MonitorCommand(gdb.Command):
    """Run an lgdbg monitor command."""

    def __init__(self, name, monitor, doc, evaluate):
        self.__doc__ = doc
        super().__init__(name, gdb.COMMAND_DATA)
        self._monitor = monitor
        self._evaluate = evaluate

    def invoke(self, arg, from_tty):
        arg = arg.strip()
        if arg and self._evaluate:
            # A gdb expression, so `lg-walk $pc` and `lg-walk lguest_data`
            # work; the monitor itself only reads numbers.
            arg = "%#x" % (int(gdb.parse_and_eval(arg)) & 0xFFFFFFFF)
        gdb.write(_monitor((self._monitor + " " + arg).strip()))


for _name, _mon, _doc, _eval in [
    ("lg-walk", "walk", "lg-walk ADDR: the Guest's and the shadow page-table walk of ADDR side by side.", True),
    ("lg-linear", "linear", "lg-linear: the Host's linear_pages flag.", False),
    ("lg-hcalls", "hcalls", "lg-hcalls [N]: the last N hypercalls, decoded.", True),
    ("lg-events", "events", "lg-events [N]: the last N Host events.", True),
    ("lg-slots", "slots", "lg-slots: the shadow pgdir cache.", False),
    ("lg-host", "host", "lg-host: what the Host knows about the Guest.", False),
]:
    _MonitorCommand(_name, _mon, _doc, _eval)


class _RegisterFunction(gdb.Function):
    """Return one of lgdbg's Host-view registers as an integer."""

    def __init__(self, name, reg):
        super().__init__(name)
        self._reg = reg

    def invoke(self):
        frame = gdb.selected_frame()
        return int(frame.read_register(self._reg))


for _name, _reg in [
    ("lg_shadow_cr3", "shadow_cr3"),
    ("lg_linear_pages", "linear_pages"),
    ("lg_icount", "icount"),
    ("lg_slot", "pgdir_slot"),
]:
    _RegisterFunction(_name, _reg)
