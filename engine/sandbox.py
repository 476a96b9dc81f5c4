"""Restricted execution of BPMN scripts, gateway conditions and timer expressions."""
from __future__ import annotations

import ast
import copy
import decimal
import functools
import mmap
import operator
import os
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from types import CodeType, FrameType, ModuleType
from typing import Any, Literal

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr_raise,
)
from RestrictedPython.PrintCollector import PrintCollector

from domain.errors import DomainError, ScriptError

Mode = Literal["eval", "exec"]
FILENAME = "<sandbox>"  # the tracer meters only frames compiled from script source
MAX_ITEMS = 1_000_000  # longest str/bytes/list/tuple/range one + * or range() may build
MAX_INT_BITS = 100_000  # ~30,000 digits; bigger ints make single C calls run for seconds
MAX_DECIMAL_EXP = 4_000  # int() of Decimal('1e999999') alone takes ~40 s in C
MEMORY_CHECK_EVERY = 32  # reading RSS costs ~1.5 µs; a traced line ~0.5 µs
DECIMAL_CONTEXT = decimal.Context(prec=28, Emax=MAX_DECIMAL_EXP, Emin=-MAX_DECIMAL_EXP)
_MISSING = object()


class _Abort(BaseException):
    """Watchdog stop; a BaseException so that `except Exception` in a script cannot swallow it."""


class _Refused(Exception):
    """A guard refused an operation (the message is already in Chinese)."""


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, tightened so the watchdog's stop cannot be caught or outlived."""

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> Any:
        self.error(node, f"不允许导入模块 ({ast.unparse(node)})")

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        self.error(node, f"不允许定义类 (class {node.name})")

    def visit_With(self, node: ast.With) -> Any:
        self.error(node, "不允许使用 with 语句")  # an __exit__ could swallow the stop

    def visit_Try(self, node: ast.Try) -> Any:
        # CPython switches tracing off when the tracer raises: a finally block or a bare except
        # would then run unmetered
        if node.finalbody:
            self.error(node, "不允许使用 finally")
        for handler in node.handlers:
            if handler.type is None:
                self.error(handler, "不允许使用裸 except，请写 except Exception")
        return super().visit_Try(node)

    def visit_While(self, node: ast.While) -> Any:
        # `while True: pass` is a jump onto itself, which emits no line event: a name load at the
        # top of the body gives the tracer a line to stop on
        node = self.node_contents_visit(node)
        tick = ast.copy_location(ast.Expr(ast.Name("_tick_", ast.Load())), node.body[0])
        node.body.insert(0, ast.fix_missing_locations(tick))
        return node

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        symbol = _REWRITTEN.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(ast.Name("_binop_", ast.Load()), [ast.Constant(symbol), node.left, node.right], [])
        return ast.fix_missing_locations(ast.copy_location(call, node))


_REWRITTEN = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Div: "/", ast.FloorDiv: "//",
              ast.Mod: "%"}
_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "truediv", "//": "floordiv", "%": "mod", "**": "pow",
          "<<": "lshift", ">>": "rshift", "&": "and_", "|": "or_", "^": "xor"}
_OPERATORS = {op: getattr(operator, name) for op, name in _NAMES.items()}
_OPERATORS |= {op + "=": getattr(operator, "i" + name.rstrip("_")) for op, name in _NAMES.items()}
_SEQUENCES = (str, bytes, list, tuple)


def _binop(op: str, a: Any, b: Any) -> Any:
    """`a op b` (plain or augmented), refusing operations too big or too slow for one C call."""
    ints, kind = isinstance(a, int) and isinstance(b, int), op.rstrip("=")
    if ints and kind in ("*", "/", "//", "%", "**") and max(a.bit_length(), b.bit_length()) > MAX_INT_BITS:
        too_big = True  # such ints exist via int(hex, 16) or int.from_bytes; x % y alone took 22 s
    elif kind == "+" and isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        too_big = len(a) + len(b) > MAX_ITEMS
    elif kind == "*" and ints:
        too_big = a.bit_length() + b.bit_length() > MAX_INT_BITS
    elif kind == "*" and isinstance(a, _SEQUENCES) != isinstance(b, _SEQUENCES):
        seq, n = (a, b) if isinstance(a, _SEQUENCES) else (b, a)
        too_big = isinstance(n, int) and len(seq) * n > MAX_ITEMS
    elif kind == "**" and ints:
        too_big = abs(a) > 1 and b > 0 and abs(a).bit_length() * b > MAX_INT_BITS
    elif kind == "<<" and ints:
        too_big = a != 0 and a.bit_length() + b > MAX_INT_BITS
    else:
        too_big = False
    if too_big:
        raise _Refused(f"运算结果过大 ({type(a).__name__} {kind} {type(b).__name__})")
    return _OPERATORS[op](a, b)


def _range(*args: int) -> range:
    """range() capped at MAX_ITEMS, since list(range(n)) allocates inside one C call."""
    r = range(*args)
    try:
        too_big = len(r) > MAX_ITEMS
    except OverflowError:  # longer than sys.maxsize
        too_big = True
    if too_big:
        raise _Refused(f"range 过大（最多 {MAX_ITEMS} 项）")
    return r


def _pow(base: Any, exp: Any, mod: Any = None) -> Any:
    """pow() with the guard of `**`; modular pow of huge ints is slow, so those are capped too."""
    if mod is None:
        return _binop("**", base, exp)
    if any(isinstance(n, int) and n.bit_length() > 4096 for n in (base, exp, mod)):
        raise _Refused("运算结果过大 (pow)")
    return pow(base, exp, mod)


def _divmod(a: Any, b: Any) -> tuple[Any, Any]:
    """divmod() with the guard of // and %."""
    return _binop("//", a, b), _binop("%", a, b)


def _round(number: Any, ndigits: int | None = None) -> Any:
    """round() refusing int rounding that computes 10 ** abs(ndigits) or divides a huge int."""
    if ndigits is None:
        return round(number)
    if isinstance(number, int) and (abs(ndigits) > 5_000 or number.bit_length() > MAX_INT_BITS):
        raise _Refused("运算结果过大 (round)")
    return round(number, ndigits)


def _sum(iterable: Any, start: Any = 0) -> Any:
    """sum() for numbers only: sum(lists, []) concatenates quadratically inside C."""
    if isinstance(start, _SEQUENCES):
        raise _Refused("sum 只能用于数字")
    return sum(iterable, start)


def _iter(obj: Any) -> Any:
    """One-argument iter(): iter(callable, sentinel) is an endless iterator consumed inside C."""
    return iter(obj)


def _decimal(value: Any = "0") -> decimal.Decimal:
    """Decimal() refusing exponents that DECIMAL_CONTEXT would not produce (the constructor is exact)."""
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:  # converting it is quadratic
        raise _Refused("Decimal 数值过大")
    result = decimal.Decimal(value)
    if result.is_finite() and abs(result.adjusted()) > MAX_DECIMAL_EXP:
        raise _Refused("Decimal 数值过大")
    return result


def _import(name: str, *args: Any, **kwargs: Any) -> ModuleType:
    """__import__ for C code only: date.today() and strftime import `time` through the caller's builtins."""
    if name not in ("time", "_strptime"):  # scripts cannot name __import__; this is what C code needs
        raise ImportError(f"不允许导入模块 {name}")
    return __import__(name, *args, **kwargs)


def _getattr(obj: Any, name: str) -> Any:
    """safer_getattr raising on missing names; also refuses `mro`, which hands out BaseException."""
    if name in ("mro", "format", "format_map"):
        raise AttributeError(f'"{name}" is a restricted name')
    return safer_getattr_raise(obj, name)


# Dropped: classes, exceptions that slip past `except Exception`, (set|del)attr, and the builtins
# that come back guarded.
_DROPPED = {"__build_class__", "BaseException", "KeyboardInterrupt", "SystemExit", "GeneratorExit",
            "setattr", "delattr", "_getattr_", "pow", "range", "divmod", "round"}
BUILTINS: dict[str, Any] = {k: v for k, v in safe_builtins.items() if k not in _DROPPED}
BUILTINS.update(
    len=len, min=min, max=max, sum=_sum, abs=abs, round=_round, sorted=sorted, reversed=reversed,
    enumerate=enumerate, zip=zip, map=map, filter=filter, any=any, all=all, int=int, float=float,
    str=str, bool=bool, list=list, dict=dict, set=set, frozenset=frozenset, tuple=tuple,
    __import__=_import, isinstance=isinstance, divmod=_divmod, iter=_iter, next=next, range=_range, pow=_pow,
)
_GUARDS: dict[str, Any] = {
    "__builtins__": BUILTINS, "__name__": "sandbox", "_tick_": None,
    "_getattr_": _getattr, "_getitem_": operator.getitem, "_getiter_": iter, "_write_": full_write_guard,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence, "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": _binop, "_binop_": _binop, "_print_": PrintCollector,  # output is collected and dropped
}


@functools.lru_cache(maxsize=2048)
def _compile(source: str, mode: Mode) -> tuple[CodeType | None, tuple[str, ...]]:
    """Compile once per (source, mode): the code, or RestrictedPython's 'Line N: ...' errors."""
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(source, filename=FILENAME, policy=_Policy)
    return result.code, tuple(result.errors)


_HINTS = (
    ("SyntaxError", "语法错误"), ("IndentationError", "缩进错误"),
    ("invalid attribute name", "不允许访问以下划线开头的属性"),
    ("invalid variable name", "不允许使用以下划线开头的名称"), ("restricted name", "不允许访问受限属性"),
    ("reserved name", "不允许使用保留名称"), ("Exec calls", "不允许调用 exec"), ("Eval calls", "不允许调用 eval"),
    ("Augmented assignment", "不支持对属性或元素做增量赋值，请写成 d[k] = d[k] + v"),
)


def _translate(raw: str) -> str:
    """Chinese form of one 'Line N: detail' compile error, keeping the detail."""
    head, _, detail = raw.partition(": ")
    line = head.removeprefix("Line ")
    if not detail[:1].isascii():  # our policy's own messages start in Chinese
        return f"第 {line} 行：{detail}"
    hint = next((zh for key, zh in _HINTS if key in detail), "不允许的写法")
    return f"第 {line} 行：{hint} ({detail})"


def _describe(exc: BaseException) -> str:
    """Chinese message for a runtime failure, with the script line and the original detail."""
    text = str(exc)
    if isinstance(exc, NameError):
        zh = f"名称 {exc.name!r} 未定义或不允许使用"
    elif isinstance(exc, AttributeError) and ('"_"' in text or "restricted name" in text):
        zh = "不允许访问该属性"
    elif isinstance(exc, RecursionError):
        zh = "递归过深"
    elif isinstance(exc, MemoryError):
        zh = "内存不足，数据过大"
    else:
        zh = "运行出错"
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    where = f"第 {line} 行：" if line else ""
    if isinstance(exc, _Abort | _Refused):
        return f"脚本执行失败：{where}{text}"
    return f"脚本执行失败：{where}{zh} ({type(exc).__name__}: {text})"


_statm_fd: tuple[int, int | None] | None = None  # (pid, descriptor of /proc/self/statm or None)
_statm_lock = threading.Lock()


def _statm() -> int | None:
    """This process's /proc/self/statm, opened once per process (None when not on Linux).

    Kept open between runs (an open/close per script run costs more than the run of a short script); a
    descriptor inherited across a fork would still show the parent, so it is reopened when the pid changed."""
    global _statm_fd
    pid = os.getpid()
    known = _statm_fd
    if known is not None and known[0] == pid:
        return known[1]
    with _statm_lock:
        if _statm_fd is None or _statm_fd[0] != pid:
            try:
                fd: int | None = os.open("/proc/self/statm", os.O_RDONLY)
            except OSError:  # not Linux: memory growth is unmetered
                fd = None
            _statm_fd = (pid, fd)  # the parent's descriptor, if any, stays the parent's
        return _statm_fd[1]


# Lines between two looks at the thread's CPU clock, and the wall-clock backstop (factor of the limit, floor).
CLOCK_CHECK_EVERY = 16
WALL_FACTOR, WALL_MINIMUM = 30.0, 30.0


class _Watchdog:
    """Per-run tracer enforcing the deadline, the step budget, the call depth and memory growth."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.limits = sandbox
        # The limit is the run's own CPU time: on a busy server a thread also waits for the interpreter lock,
        # and a wall-clock limit failed short conditions of legitimate steps under load. A generous wall-clock
        # limit stays as a backstop for a run that waits instead of working (a helper stuck on I/O).
        self.cpu_deadline = time.thread_time() + sandbox.time_limit
        self.wall_deadline = time.monotonic() + max(WALL_FACTOR * sandbox.time_limit, WALL_MINIMUM)
        self.statm = _statm()
        self.rss_ceiling = self.rss() + sandbox.memory_limit
        self.steps = self.depth = 0

    def rss(self) -> int:
        """Current resident set size of the process in bytes (0 when unknown)."""
        return int(os.pread(self.statm, 64, 0).split()[1]) * mmap.PAGESIZE if self.statm is not None else 0

    def close(self) -> None:
        """Nothing to release: the descriptor is kept for the process's next runs (_statm)."""

    def on_call(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != FILENAME:
            return None  # helpers and guards are trusted and run untraced, at full speed
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise _Abort(f"递归过深（超过 {self.limits.max_depth} 层调用）")
        return self.on_line(frame, event, arg)

    def on_line(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "return":
            self.depth -= 1
            return self.on_line
        self.steps += 1
        # The thread's CPU clock is a system call, not a vDSO read: looked at every few lines (microseconds).
        if self.steps % CLOCK_CHECK_EVERY == 0 and time.thread_time() > self.cpu_deadline:
            raise _Abort(f"脚本执行超时（超过 {self.limits.time_limit:g} 秒）")
        if time.monotonic() > self.wall_deadline:
            raise _Abort(f"脚本执行超时（等待超过 {max(WALL_FACTOR * self.limits.time_limit, WALL_MINIMUM):g} 秒）")
        if self.limits.max_steps is not None and self.steps > self.limits.max_steps:
            raise _Abort(f"脚本执行步数超过上限 {self.limits.max_steps}")
        if self.steps % MEMORY_CHECK_EVERY == 0 and self.rss() > self.rss_ceiling:
            raise _Abort(f"脚本占用内存过多（超过 {self.limits.memory_limit // 2**20} MB）")
        return self.on_line


def _jsonable(name: str, value: Any, depth: int = 0) -> Any:
    """Convert one script variable to process data; refuse what JSON cannot hold."""
    if depth > 50:
        raise ScriptError(f"脚本执行失败：变量 {name} 嵌套过深或引用了自身")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, date):  # datetime too: ISO text is what timers and forms expect
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)  # keeps money amounts exact
    if isinstance(value, list | tuple):
        return [_jsonable(name, v, depth + 1) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str | int | float | bool) for k in value):
        return {k: _jsonable(name, v, depth + 1) for k, v in value.items()}
    raise ScriptError(
        f"脚本执行失败：变量 {name} 的值（{type(value).__name__}）无法保存为流程数据，"
        "请转换为字符串、数字、列表或字典，或用 del 删除临时变量"
    )


class Sandbox:
    """Runs untrusted script, condition and timer source under RestrictedPython and a watchdog."""

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None, time_limit: float = 1.0,
                 max_steps: int | None = None, max_depth: int = 100, memory_limit: int = 256 * 2**20) -> None:
        for name in helpers or {}:
            if not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"invalid helper name {name!r}")
        self.time_limit, self.max_steps, self.max_depth = time_limit, max_steps, max_depth
        self.memory_limit = memory_limit
        # helpers may shadow the datetime names; guards always win
        self._base: dict[str, Any] = {
            "date": date, "datetime": datetime, "timedelta": timedelta, "Decimal": _decimal,
            **(helpers or {}), **_GUARDS,
        }

    def check(self, source: str, mode: Mode) -> list[str]:
        """Deploy-time check: compile only, return Chinese error messages (empty list = ok)."""
        normalized = _normalize(source, mode)
        errors = [_translate(e) for e in _compile(normalized, mode)[1]]
        if not errors:
            errors = _forbidden_names(normalized, mode)
        return errors

    def evaluate(self, expression: str, context: Mapping[str, Any]) -> Any:
        """Evaluate one expression (gateway condition, timer) over the variables in context."""
        return self._run(self._code(expression, "eval"), self._namespace(copy.deepcopy(dict(context))))

    def execute(self, script: str, context: dict[str, Any]) -> dict[str, Any]:
        """Run a script body; return the new context state (JSON-friendly, functions dropped)."""
        data = copy.deepcopy(dict(context))  # a failed script leaves the caller's data untouched
        namespace = self._namespace(data)
        self._run(self._code(script, "exec"), namespace)
        # keys the script could not see ('_' names, names shadowed by helpers) pass through
        result = {
            k: v for k, v in context.items()
            if not isinstance(k, str) or k.startswith("_") or namespace.get(k) is self._base.get(k, _MISSING)
        }
        for key, value in namespace.items():
            if key.startswith("_") or value is self._base.get(key, _MISSING):
                continue
            if callable(value) or isinstance(value, ModuleType):
                continue  # functions the script defined are not data
            if key in data and value is data[key] and value == context[key]:
                result[key] = context[key]  # untouched: keep the caller's value and type
            else:
                result[key] = _jsonable(key, value)
        return result

    def _namespace(self, data: Mapping[str, Any]) -> dict[str, Any]:
        # '_' keys in process data could replace a guard; scripts cannot name them anyway
        namespace = {k: v for k, v in data.items() if isinstance(k, str) and not k.startswith("_")}
        namespace.update(self._base)
        return namespace

    def _code(self, source: str, mode: Mode) -> CodeType:
        code, errors = _compile(_normalize(source, mode), mode)
        if code is None:
            messages = "；".join(_translate(e) for e in errors)
            raise ScriptError(f"脚本被拒绝：{messages}", errors=list(errors)) from SyntaxError("; ".join(errors))
        return code

    def _run(self, code: CodeType, namespace: dict[str, Any]) -> Any:
        # a RecursionError raised inside the tracer would switch tracing off and could be caught
        depth, frame = 0, sys._getframe()
        while frame is not None:
            depth, frame = depth + 1, frame.f_back  # type: ignore[assignment]
        if depth + 3 * self.max_depth + 50 > sys.getrecursionlimit():
            raise ScriptError(f"脚本执行失败：调用栈过深，无法安全运行脚本 (stack depth {depth})")
        watchdog = _Watchdog(self)
        previous = sys.gettrace()  # settrace affects only this thread: safe in Flask and worker threads
        sys.settrace(watchdog.on_call)
        try:
            with decimal.localcontext(DECIMAL_CONTEXT):
                return eval(code, namespace)  # exec-mode code runs under eval() too
        except DomainError:
            raise  # a helper's own verdict (an unpublished calendar year, an unknown rule) stays as it is
        except Exception as exc:
            raise ScriptError(_describe(exc), errors=[f"{type(exc).__name__}: {exc}"]) from exc
        except _Abort as exc:
            raise ScriptError(_describe(exc), errors=[str(exc)]) from exc
        finally:
            sys.settrace(previous)
            watchdog.close()


_FORBIDDEN_NAMES = frozenset({
    "open", "eval", "exec", "compile", "globals", "locals", "vars", "getattr", "setattr", "delattr",
    "__import__", "breakpoint", "input", "help", "memoryview", "type", "object", "super",
})


def _forbidden_names(source: str, mode: Mode) -> list[str]:
    """Builtins a script could only mean to escape with; refused at deploy rather than at the first run."""
    found = sorted({node.id for node in ast.walk(ast.parse(source, mode=mode))
                    if isinstance(node, ast.Name) and node.id in _FORBIDDEN_NAMES})
    return [f"不允许使用 {name}" for name in found]


def _normalize(source: str, mode: Mode) -> str:
    """BPMN XML indents script bodies and pads conditions with whitespace and newlines."""
    return source.strip() if mode == "eval" else textwrap.dedent(source).strip("\n")
