"""Restricted execution of BPMN scripts, gateway conditions and timer expressions."""
from __future__ import annotations

import ast
import copy
import functools
import operator
import sys
import textwrap
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
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

from domain.errors import ScriptError

Mode = Literal["eval", "exec"]

# The tracer only watches frames compiled from script source, recognised by this file name.
FILENAME = "<sandbox>"
MAX_ITEMS = 1_000_000  # longest str/list/tuple/bytes/range a script may build with + * or range()
MAX_INT_BITS = 100_000  # ~30,000 decimal digits
MAX_RESULT_NESTING = 50
_MISSING = object()


class _Abort(BaseException):
    """Stop signal from the tracer; BaseException so `except Exception` in a script cannot swallow it."""


class _Refused(Exception):
    """A guard refused an operation (message already in Chinese)."""


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython policy, tightened so the tracer's stop signal cannot be caught or outlived."""

    def visit_Import(self, node: ast.Import) -> Any:
        self.error(node, f"不允许导入模块 ({ast.unparse(node)})")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        self.error(node, f"不允许导入模块 ({ast.unparse(node)})")

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        self.error(node, f"不允许定义类 (class {node.name})")

    def visit_With(self, node: ast.With) -> Any:
        # a context manager's __exit__ could swallow the timeout
        self.error(node, "不允许使用 with 语句")

    def visit_Try(self, node: ast.Try) -> Any:
        # a raise from a trace function switches tracing off, so a finally block or a bare except
        # would run unmetered after a timeout
        if node.finalbody:
            self.error(node, "不允许使用 finally")
        for handler in node.handlers:
            if handler.type is None:
                self.error(handler, "不允许使用裸 except，请写 except Exception")
        return super().visit_Try(node)

    def visit_While(self, node: ast.While) -> Any:
        # `while True: pass` compiles to a jump onto itself, for which CPython emits no line event;
        # a name load at the top of the body gives the tracer a line to stop on
        node = self.node_contents_visit(node)
        tick = ast.copy_location(ast.Expr(ast.Name("_tick_", ast.Load())), node.body[0])
        node.body.insert(0, ast.fix_missing_locations(tick))
        return node

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        symbol = _GUARDED_BINOPS.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(ast.Name("_binop_", ast.Load()), [ast.Constant(symbol), node.left, node.right], [])
        return ast.fix_missing_locations(ast.copy_location(call, node))


_GUARDED_BINOPS: dict[type[ast.operator], str] = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<"}
_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "*": operator.mul, "**": operator.pow, "<<": operator.lshift,
}
_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
}
_SEQUENCES = (str, bytes, list, tuple)


def _check_size(op: str, a: Any, b: Any) -> None:
    """Refuse + * ** << whose result would be huge, before CPython allocates it in one C call."""
    too_big = False
    if op == "+" and isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        too_big = len(a) + len(b) > MAX_ITEMS
    elif op == "*" and isinstance(a, _SEQUENCES) and isinstance(b, int):
        too_big = len(a) * b > MAX_ITEMS
    elif op == "*" and isinstance(b, _SEQUENCES) and isinstance(a, int):
        too_big = len(b) * a > MAX_ITEMS
    elif isinstance(a, int) and isinstance(b, int):
        if op == "*":
            too_big = a.bit_length() + b.bit_length() > MAX_INT_BITS
        elif op == "**":
            too_big = abs(a) > 1 and b > 0 and abs(a).bit_length() * b > MAX_INT_BITS
        elif op == "<<":
            too_big = a != 0 and a.bit_length() + b > MAX_INT_BITS
    if too_big:
        raise _Refused(f"运算结果过大 ({type(a).__name__} {op} {type(b).__name__})")


def _binop(op: str, a: Any, b: Any) -> Any:
    """Guarded `a op b` for the operators the policy rewrites."""
    _check_size(op, a, b)
    return _BINOPS[op](a, b)


def _inplacevar(op: str, a: Any, b: Any) -> Any:
    """Guarded augmented assignment (`n += 1` compiles to `n = _inplacevar_('+=', n, 1)`)."""
    if op not in _INPLACE:
        raise _Refused(f"不支持的运算符 {op}")
    _check_size(op[:-1], a, b)
    return _INPLACE[op](a, b)


def _range(*args: int) -> range:
    """range() capped at MAX_ITEMS, since list(range(n)) allocates inside one C call."""
    r = range(*args)
    try:
        ok = len(r) <= MAX_ITEMS
    except OverflowError:
        ok = False
    if not ok:
        raise _Refused(f"range 过大（最多 {MAX_ITEMS} 项）")
    return r


def _pow(base: Any, exp: Any, mod: Any = None) -> Any:
    """pow() with the same size guard as `**`."""
    return _binop("**", base, exp) if mod is None else pow(base, exp, mod)


def _iter(obj: Any) -> Any:
    """One-argument iter(): iter(callable, sentinel) is an endless iterator consumed inside C."""
    return iter(obj)


def _getitem(obj: Any, key: Any) -> Any:
    """Plain subscription: attribute guards are what keep scripts away from internals."""
    return obj[key]


def _getattr(obj: Any, name: str) -> Any:
    """safer_getattr that raises on missing names, and also refuses `mro` (it hands out BaseException)."""
    if name in ("mro", "format", "format_map"):
        raise AttributeError(f'"{name}" is a restricted name')
    return safer_getattr_raise(obj, name)


class _NullPrint:
    """print() target that discards output: scripts have no console."""

    def __init__(self, _getattr_: Any = None) -> None:
        pass

    def _call_print(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self) -> str:
        return ""


# Dropped from safe_builtins: classes, the exceptions that bypass `except Exception`, (set|del)attr,
# and pow/range, which come back guarded.
_DROPPED = {"__build_class__", "BaseException", "KeyboardInterrupt", "SystemExit", "GeneratorExit",
            "setattr", "delattr", "_getattr_", "pow", "range"}
BUILTINS: dict[str, Any] = {k: v for k, v in safe_builtins.items() if k not in _DROPPED}
BUILTINS.update(
    len=len, min=min, max=max, sum=sum, abs=abs, round=round, sorted=sorted, reversed=reversed,
    enumerate=enumerate, zip=zip, map=map, filter=filter, any=any, all=all, int=int, float=float,
    str=str, bool=bool, list=list, dict=dict, set=set, frozenset=frozenset, tuple=tuple,
    isinstance=isinstance, divmod=divmod, iter=_iter, next=next, range=_range, pow=_pow,
)

_GUARDS: dict[str, Any] = {
    "__builtins__": BUILTINS, "__name__": "sandbox",
    "_getattr_": _getattr, "_getitem_": _getitem, "_getiter_": iter, "_write_": full_write_guard,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence, "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": _inplacevar, "_binop_": _binop, "_print_": _NullPrint, "_tick_": None,
}


@functools.lru_cache(maxsize=2048)
def _compile(source: str, mode: Mode) -> tuple[CodeType | None, tuple[str, ...]]:
    """Compile once per (source, mode); returns the code or the raw RestrictedPython errors."""
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(source, filename=FILENAME, policy=_Policy)
    return result.code, tuple(result.errors)


_COMPILE_HINTS = (
    ("SyntaxError", "语法错误"),
    ("IndentationError", "缩进错误"),
    ("invalid attribute name", "不允许访问以下划线开头的属性"),
    ("invalid variable name", "不允许使用以下划线开头的名称"),
    ("restricted name", "不允许访问受限属性"),
    ("reserved name", "不允许使用保留名称"),
    ("Exec calls", "不允许调用 exec"),
    ("Eval calls", "不允许调用 eval"),
    ("Augmented assignment", "不支持对属性或元素做增量赋值，请写成 d[k] = d[k] + v"),
    ("not allowed", "不允许的语法"),
)


def _translate(raw: str) -> str:
    """Turn one 'Line N: detail' RestrictedPython error into a Chinese message keeping the detail."""
    head, _, detail = raw.partition(": ")
    line = head.removeprefix("Line ")
    if not detail or not line.isdigit():
        line, detail = "?", raw
    if not detail.isascii():  # our own policy messages are already Chinese
        return f"第 {line} 行：{detail}"
    hint = next((zh for key, zh in _COMPILE_HINTS if key in detail), "不允许的写法")
    return f"第 {line} 行：{hint} ({detail})"


def _describe(exc: BaseException) -> str:
    """Chinese message for a runtime failure, with the script line and the original detail."""
    if isinstance(exc, (_Abort, _Refused)):
        zh = str(exc)
    elif isinstance(exc, NameError):
        zh = f"名称 {exc.name!r} 未定义或不允许使用"
    elif isinstance(exc, AttributeError) and ('"_"' in str(exc) or "restricted name" in str(exc)):
        zh = "不允许访问该属性"
    elif isinstance(exc, NotImplementedError) and "format" in str(exc):
        zh = "不允许使用 format，请改用 f-string"
    elif isinstance(exc, ImportError):
        zh = "不允许导入模块"
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
    if isinstance(exc, (_Abort, _Refused)):
        return f"脚本执行失败：{where}{zh}"
    return f"脚本执行失败：{where}{zh} ({type(exc).__name__}: {exc})"


class _Watchdog:
    """Per-call line tracer enforcing the deadline, the step budget and the call depth."""

    def __init__(self, time_limit: float, max_steps: int | None, max_depth: int) -> None:
        self.time_limit = time_limit
        self.deadline = time.monotonic() + time_limit
        self.max_steps = max_steps
        self.max_depth = max_depth
        self.steps = 0
        self.depth = 0

    def on_call(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != FILENAME:
            return None  # trusted helpers and guards run at full speed, untraced
        self.depth += 1
        if self.depth > self.max_depth:
            raise _Abort(f"递归过深（超过 {self.max_depth} 层调用）")
        self._tick()
        return self.on_line

    def on_line(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "return":
            self.depth -= 1
        else:
            self._tick()
        return self.on_line

    def _tick(self) -> None:
        self.steps += 1
        if time.monotonic() > self.deadline:
            raise _Abort(f"脚本执行超时（超过 {self.time_limit:g} 秒）")
        if self.max_steps is not None and self.steps > self.max_steps:
            raise _Abort(f"脚本执行步数超过上限 {self.max_steps}")


def _jsonable(name: str, value: Any, depth: int = 0) -> Any:
    """Convert a script variable to process data; refuse what JSON cannot hold."""
    if depth > MAX_RESULT_NESTING:
        raise ScriptError(f"脚本执行失败：变量 {name} 嵌套过深或引用了自身")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, date):  # datetime included; ISO text is what timers and forms expect
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)  # str keeps money amounts exact
    if isinstance(value, (list, tuple)):
        return [_jsonable(name, v, depth + 1) for v in value]
    if isinstance(value, dict) and all(isinstance(k, (str, int, float, bool)) for k in value):
        return {k: _jsonable(name, v, depth + 1) for k, v in value.items()}
    raise ScriptError(
        f"脚本执行失败：变量 {name} 的值（{type(value).__name__}）无法保存为流程数据，"
        "请转换为字符串、数字、列表或字典，或用 del 删除临时变量"
    )


class Sandbox:
    """Runs untrusted script, condition and timer source with RestrictedPython and a watchdog."""

    def __init__(
        self,
        helpers: Mapping[str, Callable[..., Any]] | None = None,
        time_limit: float = 1.0,
        max_steps: int | None = None,
        max_depth: int = 100,
    ) -> None:
        for name in helpers or {}:
            if not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"invalid helper name {name!r}")
        self.time_limit = time_limit
        self.max_steps = max_steps
        self.max_depth = max_depth
        # Helpers may shadow date/datetime/...; guards always win.
        self._base: dict[str, Any] = {
            "date": date, "datetime": datetime, "timedelta": timedelta, "Decimal": Decimal,
            **(helpers or {}), **_GUARDS,
        }

    def check(self, source: str, mode: Mode) -> list[str]:
        """Static deploy-time check: compile only and return Chinese error messages (empty = ok)."""
        return [_translate(e) for e in _compile(_normalize(source, mode), mode)[1]]

    def evaluate(self, expression: str, context: Mapping[str, Any]) -> Any:
        """Evaluate one expression (gateway condition, timer) over the variables in context."""
        namespace = self._namespace(copy.deepcopy(dict(context)))
        return self._run(self._code(expression, "eval"), namespace)

    def execute(self, script: str, context: dict[str, Any]) -> dict[str, Any]:
        """Run a script body; return the new context state (JSON-friendly, callables dropped)."""
        data = copy.deepcopy(dict(context))
        namespace = self._namespace(data)
        self._run(self._code(script, "exec"), namespace)
        # keys the script cannot see ('_' names, names shadowed by helpers) pass through unchanged
        result = {
            k: v for k, v in context.items()
            if not isinstance(k, str) or k.startswith("_") or namespace.get(k) is self._base.get(k, _MISSING)
        }
        for key, value in namespace.items():
            if key.startswith("_") or value is self._base.get(key, _MISSING):
                continue
            if callable(value) or isinstance(value, ModuleType):
                continue  # functions defined by the script are not data
            if key in data and value is data[key] and value == context[key]:
                result[key] = context[key]  # untouched: keep the caller's value and type
            else:
                result[key] = _jsonable(key, value)
        return result

    def _namespace(self, data: Mapping[str, Any]) -> dict[str, Any]:
        # '_' names would let process data replace a guard; scripts cannot name them anyway
        namespace = {k: v for k, v in data.items() if isinstance(k, str) and not k.startswith("_")}
        namespace.update(self._base)
        return namespace

    def _code(self, source: str, mode: Mode) -> CodeType:
        code, errors = _compile(_normalize(source, mode), mode)
        if code is None:
            messages = [_translate(e) for e in errors] or ["无法编译"]
            raise ScriptError("脚本被拒绝：" + "；".join(messages), errors=list(errors)) from SyntaxError(
                "; ".join(errors)
            )
        return code

    def _run(self, code: CodeType, namespace: dict[str, Any]) -> Any:
        watchdog = _Watchdog(self.time_limit, self.max_steps, self.max_depth)
        # sys.settrace only affects the calling thread, so this is safe in request and worker threads
        previous = sys.gettrace()
        sys.settrace(watchdog.on_call)
        try:
            return eval(code, namespace)  # exec-mode code objects run fine under eval()
        except ScriptError:
            raise
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)) and not isinstance(exc, _Abort):
                raise
            raise ScriptError(_describe(exc), errors=[f"{type(exc).__name__}: {exc}"]) from exc
        finally:
            sys.settrace(previous)


def _normalize(source: str, mode: Mode) -> str:
    """BPMN XML indents script bodies and pads conditions with whitespace."""
    return source.strip() if mode == "eval" else textwrap.dedent(source).strip("\n")
