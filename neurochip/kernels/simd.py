"""Explicit SIMD values in numba kernels: 16 int16 lanes as one value, and spike bitmasks.

numba has no vector type: a kernel gets SIMD only where LLVM's loop vectoriser manages, and each
vectorised loop brings its own set-up (runtime checks that its arrays do not overlap, address
arithmetic, a remainder loop). For loops of a dozen iterations, as in one step of a small network,
that set-up costs more than the additions (docs/architecture.md, Speed). This module gives
kernels what the vectoriser would have produced, without the set-up:

* :data:`i16x16`, a numba type whose value is an LLVM ``<16 x i16>`` (one AVX2 ``ymm`` register,
  two SSE registers, or 16 scalars where the target has no SIMD: LLVM legalises it);
  :func:`v16_zero`, :func:`v16_load`, :func:`v16_add` and :func:`v16_store32` (stored widened
  to int32 lanes);
* :func:`nonzero_mask16`: bit k of the result is ``a[off + k] != 0`` for k < 16 (one vector compare
  and a move of the mask to a general register), so that a kernel finds the spiking inputs of a
  step by iterating the set bits (:func:`ctz64`, count trailing zeros) instead of testing every
  input;
* :data:`i32x16` (``<16 x i32>``: one AVX-512 ``zmm``) and the lane mask :data:`m16`
  (``<16 x i1>``: a ``%k`` register), for the neuron update (kernels/lif32.py): loads and stores
  of any integer type that touch only the first n lanes (LLVM's masked load and store for a tail),
  add, sub, and, min, max, shifts, compares, select, and the population count of a mask.

int16 additions are modulo 2^16, like numpy's int16; the caller proves they cannot overflow (the
kernels use int16 sums only where a bound of every partial sum is below 2^15). The 16-lane int16
loads and stores are not bounds-checked (numba's default for array indexing too): the caller keeps
``off + 16`` within the array. ``tests/test_simd.py`` checks each operation against numpy.
"""
from __future__ import annotations

import llvmlite
from llvmlite import ir
from numba.core import cgutils, types
from numba.core.errors import TypingError
from numba.extending import intrinsic, models, register_model

_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_V16 = ir.VectorType(ir.IntType(16), 16)
_V32 = ir.VectorType(_I32, 16)
_M16 = ir.VectorType(ir.IntType(1), 16)


class I16x16(types.Type):
    """16 int16 lanes (an LLVM ``<16 x i16>`` value)."""

    def __init__(self):
        super().__init__(name="i16x16")


class I32x16(types.Type):
    """16 int32 lanes (an LLVM ``<16 x i32>`` value: one AVX-512 ``zmm`` register, two AVX2 ``ymm``)."""

    def __init__(self):
        super().__init__(name="i32x16")


class M16(types.Type):
    """A 16-lane mask (an LLVM ``<16 x i1>``: an AVX-512 mask register)."""

    def __init__(self):
        super().__init__(name="m16")


i16x16 = I16x16()
i32x16 = I32x16()
m16 = M16()
_LLVM_TYPE = {I16x16: _V16, I32x16: _V32, M16: _M16}


@register_model(I16x16)
@register_model(I32x16)
@register_model(M16)
class _VectorModel(models.PrimitiveModel):
    """Each vector type's value is its LLVM vector, held in registers."""

    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _LLVM_TYPE[type(fe_type)])


def _offset(builder, ty, value):
    """An integer argument as i64 (sign- or zero-extended by its numba type)."""
    if value.type.width == 64:
        return value
    return builder.sext(value, _I64) if ty.signed else builder.zext(value, _I64)


def _lane_pointer(context, builder, aryty, ary, off_ty, off, vec_ty):
    arr = context.make_array(aryty)(context, builder, ary)
    ptr = builder.gep(arr.data, [_offset(builder, off_ty, off)])
    return builder.bitcast(ptr, vec_ty.as_pointer())


def _check_array(a, dtype=None):
    ok = isinstance(a, types.Array) and a.ndim == 1 and a.layout == "C" and isinstance(a.dtype, types.Integer)
    if not ok or (dtype is not None and a.dtype != dtype):
        raise TypingError(f"need a 1-d C-contiguous {dtype or 'integer'} array, got {a}")


@intrinsic
def v16_zero(typingctx):
    """Sixteen zero lanes."""
    def codegen(context, builder, sig, args):
        return ir.Constant(_V16, None)
    return i16x16(), codegen


@intrinsic
def v16_load(typingctx, a, off):
    """Lanes ``a[off : off + 16]`` of a 1-d C-contiguous int16 array (unaligned load)."""
    _check_array(a, types.int16)

    def codegen(context, builder, sig, args):
        p = _lane_pointer(context, builder, sig.args[0], args[0], sig.args[1], args[1], _V16)
        return builder.load(p, align=2)
    return i16x16(a, off), codegen


@intrinsic
def v16_store32(typingctx, a, off, v):
    """``a[off : off + 16] = v`` widened (sign-extended) into a 1-d C-contiguous int32 array."""
    _check_array(a, types.int32)
    if v != i16x16:
        raise TypingError(f"v16_store32 stores an i16x16, got {v}")

    def codegen(context, builder, sig, args):
        p = _lane_pointer(context, builder, sig.args[0], args[0], sig.args[1], args[1], _V32)
        builder.store(builder.sext(args[2], _V32), p, align=4)
        return context.get_dummy_value()
    return types.none(a, off, v), codegen


@intrinsic
def v16_add(typingctx, x, y):
    """Lane-wise x + y modulo 2^16."""
    if x != i16x16 or y != i16x16:
        raise TypingError(f"v16_add adds two i16x16, got {x}, {y}")

    def codegen(context, builder, sig, args):
        return builder.add(args[0], args[1])
    return i16x16(x, y), codegen


@intrinsic
def nonzero_mask16(typingctx, a, off):
    """An int64 whose bit k (k < 16) is ``a[off + k] != 0``, for a 1-d C-contiguous integer
    array (one vector compare; AVX-512 ``vptestmd`` + ``kmovw``, AVX2 a compare and a move mask)."""
    _check_array(a)

    def codegen(context, builder, sig, args):
        et = context.get_value_type(sig.args[0].dtype)
        vt = ir.VectorType(et, 16)
        p = _lane_pointer(context, builder, sig.args[0], args[0], sig.args[1], args[1], vt)
        bits = builder.icmp_unsigned("!=", builder.load(p, align=et.width // 8), ir.Constant(vt, None))
        return builder.zext(builder.bitcast(bits, ir.IntType(16)), _I64)
    return types.int64(a, off), codegen


@intrinsic
def ctz64(typingctx, x):
    """The number of trailing zero bits of a non-zero int64 (``tzcnt``; 64 for 0)."""
    if not isinstance(x, types.Integer):
        raise TypingError(f"ctz64 counts the bits of an integer, got {x}")

    def codegen(context, builder, sig, args):
        v = _offset(builder, sig.args[0], args[0])
        fn = builder.module.declare_intrinsic("llvm.cttz", [_I64], ir.FunctionType(_I64, [_I64, ir.IntType(1)]))
        return builder.call(fn, [v, ir.Constant(ir.IntType(1), 0)])
    return types.int64(x), codegen


# --- 16 int32 lanes and 16-lane masks ------------------------------------------------------------

def _splat(builder, x):
    """Sixteen i32 lanes of the i32 x."""
    first = builder.insert_element(ir.Constant(_V32, ir.Undefined), x, _I32(0))
    return builder.shuffle_vector(first, ir.Constant(_V32, ir.Undefined), ir.Constant(_V32, [0] * 16))


def _lanes_below(builder, n_ty, n):
    """The mask of lanes k < n (n an integer of numba type n_ty; n <= 0: none, n >= 16: all)."""
    n64 = _offset(builder, n_ty, n)
    n32 = builder.select(builder.icmp_signed(">", n64, _I64(16)), _I32(16),
                         builder.select(builder.icmp_signed("<", n64, _I64(0)), _I32(0), builder.trunc(n64, _I32)))
    return builder.icmp_signed("<", ir.Constant(_V32, list(range(16))), _splat(builder, n32))


def _to_i32(builder, ety, value):
    """A vector of numba integer type ety's lanes converted to i32 lanes (sign- or zero-extended,
    or truncated)."""
    w = ety.bitwidth
    if w == 32:
        return value
    if w > 32:
        return builder.trunc(value, _V32)
    return builder.sext(value, _V32) if ety.signed else builder.zext(value, _V32)


def _from_i32(builder, ety, value):
    w = ety.bitwidth
    vt = ir.VectorType(ir.IntType(w), 16)
    if w == 32:
        return value
    if w < 32:
        return builder.trunc(value, vt)
    return builder.sext(value, vt)


def _pointer_mangling(ptr_type, vt):
    """The pointer part of an overloaded intrinsic's name: ``p0`` for an opaque pointer, the typed
    ``p0v16i32`` where llvmlite's IR layer writes typed pointers (older LLVMs need it; newer ones
    upgrade it)."""
    typed = getattr(llvmlite, "ir_layer_typed_pointers_enabled", True)
    if not typed or getattr(ptr_type, "is_opaque", False) or getattr(ptr_type, "pointee", None) is None:
        return "p0"
    return f"p0v16i{vt.element.width}"


def _masked(builder, name, vt, args):
    """A call of LLVM's ``llvm.masked.load`` / ``llvm.masked.store`` on vector type vt."""
    if name == "load":
        ptr = args[0]
        fnty = ir.FunctionType(vt, [ptr.type, _I32, _M16, vt])
    else:
        ptr = args[1]
        fnty = ir.FunctionType(ir.VoidType(), [vt, ptr.type, _I32, _M16])
    fname = f"llvm.masked.{name}.v16i{vt.element.width}.{_pointer_mangling(ptr.type, vt)}"
    fn = cgutils.get_or_insert_function(builder.module, fnty, fname)
    return builder.call(fn, args)


def _lanes_access(context, builder, sig, args):
    """For an intrinsic (a, off, n, ...): the pointer to ``a[off]`` as a vector of a's element
    type, that vector type, its alignment, and whether all 16 lanes are in (n >= 16)."""
    aryty = sig.args[0]
    et = context.get_value_type(aryty.dtype)
    vt = ir.VectorType(et, 16)
    p = _lane_pointer(context, builder, aryty, args[0], sig.args[1], args[1], vt)
    full = builder.icmp_signed(">=", _offset(builder, sig.args[2], args[2]), _I64(16))
    return p, vt, et.width // 8, full


@intrinsic
def v32_load(typingctx, a, off, n):
    """Lanes k < n of ``a[off + k]`` as int32 (a 1-d C-contiguous integer array of any width:
    sign- or zero-extended or truncated), the other lanes 0. With n >= 16 a plain vector load;
    otherwise LLVM's masked load, which reads no element at or past ``off + n``."""
    _check_array(a)

    def codegen(context, builder, sig, args):
        p, vt, align, full = _lanes_access(context, builder, sig, args)
        with builder.if_else(full) as (then, otherwise):
            with then:
                bb_full = builder.block
                x_full = builder.load(p, align=align)
            with otherwise:
                bb_part = builder.block
                mask = _lanes_below(builder, sig.args[2], args[2])
                x_part = _masked(builder, "load", vt, [p, _I32(align), mask, ir.Constant(vt, None)])
        x = builder.phi(vt)
        x.add_incoming(x_full, bb_full)
        x.add_incoming(x_part, bb_part)
        return _to_i32(builder, sig.args[0].dtype, x)
    return i32x16(a, off, n), codegen


@intrinsic
def v32_store(typingctx, a, off, n, v):
    """``a[off + k] = v[k]`` for lanes k < n (converted to a's integer type: truncated or
    sign-extended); nothing at or past ``off + n`` is written (a masked store unless n >= 16)."""
    _check_array(a)
    if v != i32x16:
        raise TypingError(f"v32_store stores an i32x16, got {v}")

    def codegen(context, builder, sig, args):
        p, vt, align, full = _lanes_access(context, builder, sig, args)
        x = _from_i32(builder, sig.args[0].dtype, args[3])
        with builder.if_else(full) as (then, otherwise):
            with then:
                builder.store(x, p, align=align)
            with otherwise:
                mask = _lanes_below(builder, sig.args[2], args[2])
                _masked(builder, "store", vt, [x, p, _I32(align), mask])
        return context.get_dummy_value()
    return types.none(a, off, n, v), codegen


@intrinsic
def v32_splat(typingctx, x):
    """Sixteen lanes of the integer x (truncated to int32)."""
    if not isinstance(x, types.Integer):
        raise TypingError(f"v32_splat splats an integer, got {x}")

    def codegen(context, builder, sig, args):
        return _splat(builder, context.cast(builder, args[0], sig.args[0], types.int32))
    return i32x16(x), codegen


def _binary(op, result):
    """An intrinsic (x, y) -> result over two i32x16."""
    def impl(typingctx, x, y):
        if x != i32x16 or y != i32x16:
            raise TypingError(f"{op} takes two i32x16, got {x}, {y}")

        def codegen(context, builder, sig, args):
            a, b = args
            if op == "min":
                return builder.select(builder.icmp_signed("<", a, b), a, b)
            if op == "max":
                return builder.select(builder.icmp_signed(">", a, b), a, b)
            if op in ("<", "<=", ">", ">=", "==", "!="):
                return builder.icmp_signed(op, a, b)
            return getattr(builder, op)(a, b)
        return result(x, y), codegen
    impl.__name__ = f"v32_{op.strip('_')}"
    return intrinsic(impl)


v32_add = _binary("add", i32x16)
v32_sub = _binary("sub", i32x16)
v32_and = _binary("and_", i32x16)
v32_min = _binary("min", i32x16)
v32_max = _binary("max", i32x16)
v32_gt = _binary(">", m16)
v32_ge = _binary(">=", m16)
v32_le = _binary("<=", m16)
v32_ne = _binary("!=", m16)
v32_add.__doc__ = "Lane-wise x + y modulo 2^32."
v32_sub.__doc__ = "Lane-wise x - y modulo 2^32."
v32_and.__doc__ = "Lane-wise x & y."
v32_min.__doc__ = "Lane-wise signed minimum."
v32_max.__doc__ = "Lane-wise signed maximum."
v32_gt.__doc__ = "The mask of lanes where x > y (signed)."
v32_ge.__doc__ = "The mask of lanes where x >= y (signed)."
v32_le.__doc__ = "The mask of lanes where x <= y (signed)."
v32_ne.__doc__ = "The mask of lanes where x != y."


def _shift(kind):
    def impl(typingctx, x, k):
        if x != i32x16 or not isinstance(k, types.Integer):
            raise TypingError(f"v32_{kind} shifts an i32x16 by an integer, got {x}, {k}")

        def codegen(context, builder, sig, args):
            amount = builder.and_(context.cast(builder, args[1], sig.args[1], types.int32), _I32(31))
            s = _splat(builder, amount)
            return builder.shl(args[0], s) if kind == "shl" else builder.ashr(args[0], s)
        return i32x16(x, k), codegen
    impl.__name__ = f"v32_{kind}"
    return intrinsic(impl)


v32_shl = _shift("shl")
v32_ashr = _shift("ashr")
v32_shl.__doc__ = "Lanes shifted left by (k & 31) (like fixedpoint.shl32: LLVM's shift by 32 or more is poison)."
v32_ashr.__doc__ = "Lanes shifted right arithmetically by (k & 31) (like fixedpoint.ashr32)."


@intrinsic
def v32_where(typingctx, m, x, y):
    """x in the lanes where m is set, y elsewhere."""
    if m != m16 or x != i32x16 or y != i32x16:
        raise TypingError(f"v32_where takes an m16 and two i32x16, got {m}, {x}, {y}")

    def codegen(context, builder, sig, args):
        return builder.select(*args)
    return i32x16(m, x, y), codegen


@intrinsic
def m16_bits(typingctx, m):
    """The mask as an int64 whose bit k is lane k (the form of a spike word; tests read compares
    with it)."""
    if m != m16:
        raise TypingError(f"m16_bits takes an m16, got {m}")

    def codegen(context, builder, sig, args):
        return builder.zext(builder.bitcast(args[0], ir.IntType(16)), _I64)
    return types.int64(m), codegen


@intrinsic
def m16_count(typingctx, m):
    """The number of set lanes (a population count of the mask's bits)."""
    if m != m16:
        raise TypingError(f"m16_count takes an m16, got {m}")

    def codegen(context, builder, sig, args):
        bits = builder.bitcast(args[0], ir.IntType(16))
        fn = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(16)])
        return builder.zext(builder.call(fn, [bits]), _I64)
    return types.int64(m), codegen


__all__ = ["I16x16", "i16x16", "v16_zero", "v16_load", "v16_store32", "v16_add", "nonzero_mask16",
           "ctz64", "I32x16", "M16", "i32x16", "m16", "v32_load", "v32_store", "v32_splat", "v32_add", "v32_sub",
           "v32_and", "v32_min", "v32_max", "v32_gt", "v32_ge", "v32_le", "v32_ne", "v32_shl", "v32_ashr", "v32_where",
           "m16_bits", "m16_count"]
