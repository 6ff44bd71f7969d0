import { describe, expect, it } from 'vitest';
import { evalExpr, ex, exprArity, exprKey } from '../src/expr.js';

describe('elementwise expressions', () => {
  it('promote operand dtypes and type comparisons as i32', () => {
    const e = ex.binary('add', ex.input(0, 'i32'), ex.input(1, 'f32'));
    expect(e.dtype).toBe('f32');
    expect(ex.binary('lt', ex.input(0, 'f64'), ex.const(1, 'f64')).dtype).toBe('i32');
    expect(ex.unary('exp', ex.input(0, 'i32')).dtype).toBe('f32');
    expect(ex.unary('abs', ex.input(0, 'i32')).dtype).toBe('i32');
  });

  it('evaluate with f32 rounding and i32 wrap-around', () => {
    const sig = ex.unary('sigmoid', ex.input(0, 'f64'));
    expect(evalExpr(sig, [0])).toBe(0.5);
    expect(evalExpr(ex.binary('add', ex.input(0, 'i32'), ex.const(1, 'i32')), [2147483647])).toBe(
      -2147483648,
    );
    expect(evalExpr(ex.cast(ex.input(0, 'f32'), 'i32'), [-2.7])).toBe(-2);
    expect(evalExpr(ex.binary('div', ex.input(0, 'i32'), ex.const(2, 'i32')), [-7])).toBe(-3);
    expect(evalExpr(ex.input(0, 'f32'), [0.1])).toBe(Math.fround(0.1));
  });

  it('have stable keys and arity', () => {
    const e = ex.where(ex.input(2, 'i32'), ex.input(0, 'f32'), ex.const(0, 'f32'));
    expect(exprKey(e)).toBe('where($2:i32,$0:f32,0:f32)');
    expect(exprArity(e)).toBe(3);
  });
});
