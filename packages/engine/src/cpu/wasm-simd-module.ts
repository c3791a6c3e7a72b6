/**
 * The bytes of a small WebAssembly module with one export,
 * `linear(out, x, w, bias, rows, inDim, outDim)`: the same product as the JS `linear()` kernel,
 * with 128-bit SIMD (four float32 lanes), tiled 4 outputs x 2 rows. All arguments are byte
 * offsets into the imported memory `env.memory` (bias 0 = none); `inDim` must be a positive
 * multiple of 4. The module is assembled here, at run time, from the opcode table below, so the
 * repository carries no binary.
 */

// Opcodes (WebAssembly core + fixed-width SIMD).
const BLOCK = 0x02, LOOP = 0x03, IF = 0x04, ELSE = 0x05, END = 0x0b, BR = 0x0c, BR_IF = 0x0d;
const LOCAL_GET = 0x20, LOCAL_SET = 0x21, LOCAL_TEE = 0x22;
const F32_LOAD = 0x2a, F32_STORE = 0x38, I32_CONST = 0x41, F32_CONST = 0x43;
const I32_SHL = 0x74, I32_EQZ = 0x45, I32_LT_S = 0x48, I32_GT_S = 0x4a, I32_ADD = 0x6a, I32_MUL = 0x6c, F32_ADD = 0x92;
const SIMD = 0xfd, V128_LOAD = 0x00, V128_CONST = 0x0c, F32X4_EXTRACT = 0x1f;
const F32X4_ADD = [0xe4, 0x01], F32X4_MUL = [0xe6, 0x01];
const VOID = 0x40, F32 = 0x7d, I32 = 0x7f, V128 = 0x7b;

// Locals: 7 i32 parameters, then i32 and v128 locals.
const OUT = 0, X = 1, W = 2, BIAS = 3, ROWS = 4, IN_DIM = 5, OUT_DIM = 6;
const O = 7, T = 8, I = 9, IN4 = 10, W0 = 11, XA = 12, XB = 13, R = 14, OUT4 = 15;
const NUM_I32_LOCALS = 9;
const ACC_A = 16; // a0..a3 (row t), then b0..b3 (row t + 1)
const ACC_B = 20;
const Q = 24; // q0..q3 weight vectors
const VA = 28, VB = 29;
const NUM_V128_LOCALS = 14;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const get = (l: number): number[] => [LOCAL_GET, ...uleb(l)];
const set = (l: number): number[] => [LOCAL_SET, ...uleb(l)];
const tee = (l: number): number[] => [LOCAL_TEE, ...uleb(l)];
const i32 = (n: number): number[] => [I32_CONST, ...sleb(n)];
const v128Load = (addrLocal: number, offsetLocal: number): number[] => [...get(addrLocal), ...get(offsetLocal), I32_ADD, SIMD, V128_LOAD, 2, 0];
const zero = (): number[] => [SIMD, V128_CONST, ...Array.from({ length: 16 }, () => 0)];
/** acc += a * b (f32x4). */
const fma = (acc: number, a: number, b: number): number[] => [...get(acc), ...get(a), ...get(b), SIMD, ...F32X4_MUL, SIMD, ...F32X4_ADD, ...set(acc)];
/** (l0 + l1) + (l2 + l3) of a v128 local, as f32 on the stack. */
const hsum = (v: number): number[] => [
  ...get(v), SIMD, F32X4_EXTRACT, 0, ...get(v), SIMD, F32X4_EXTRACT, 1, F32_ADD,
  ...get(v), SIMD, F32X4_EXTRACT, 2, ...get(v), SIMD, F32X4_EXTRACT, 3, F32_ADD, F32_ADD,
];
/** bias[o + k] or 0, as f32 on the stack. */
const biasAt = (k: number): number[] => [
  ...get(BIAS), I32_EQZ, IF, F32, F32_CONST, 0, 0, 0, 0, ELSE,
  ...get(BIAS), ...get(O), ...i32(2), I32_SHL, I32_ADD, F32_LOAD, 2, ...uleb(4 * k), END,
];
/** Stores hsum(acc) + bias[o + k] at byte address local R + 4k. */
const storeLane = (acc: number, k: number): number[] => [...get(R), ...hsum(acc), ...biasAt(k), F32_ADD, F32_STORE, 2, ...uleb(4 * k)];

/** `w + (o + k) * in4` for weight row k of the tile. */
const rowAddr = (k: number): number[] => [...get(W0), ...(k === 0 ? [] : [...get(IN4), ...i32(k), I32_MUL, I32_ADD])];

function dotTile(rowsInTile: 1 | 2, outsInTile: 1 | 4): number[] {
  const accs = rowsInTile === 2 ? [ACC_A, ACC_B] : [ACC_A];
  const code: number[] = [];
  for (const base of accs) for (let k = 0; k < outsInTile; k++) code.push(...zero(), ...set(base + k));
  code.push(...i32(0), ...set(I));
  code.push(LOOP, VOID);
  for (let k = 0; k < outsInTile; k++) code.push(...rowAddr(k), ...get(I), I32_ADD, SIMD, V128_LOAD, 2, 0, ...set(Q + k));
  code.push(...v128Load(XA, I), ...set(VA));
  if (rowsInTile === 2) code.push(...v128Load(XB, I), ...set(VB));
  for (let k = 0; k < outsInTile; k++) {
    code.push(...fma(ACC_A + k, VA, Q + k));
    if (rowsInTile === 2) code.push(...fma(ACC_B + k, VB, Q + k));
  }
  code.push(...get(I), ...i32(16), I32_ADD, ...tee(I), ...get(IN4), I32_LT_S, BR_IF, 0, END);
  // r = out + (t * outDim + o) * 4
  code.push(...get(OUT), ...get(T), ...get(OUT4), I32_MUL, I32_ADD, ...get(O), ...i32(4), I32_MUL, I32_ADD, ...set(R));
  for (let k = 0; k < outsInTile; k++) code.push(...storeLane(ACC_A + k, k));
  if (rowsInTile === 2) {
    code.push(...get(R), ...get(OUT4), I32_ADD, ...set(R));
    for (let k = 0; k < outsInTile; k++) code.push(...storeLane(ACC_B + k, k));
  }
  return code;
}

/** for (t = 0; t + 2 <= rows; t += 2) tile(2); if (t < rows) tile(1). xa/xb follow t. */
function rowLoop(outsInTile: 1 | 4): number[] {
  const setX = [...get(X), ...get(T), ...get(IN4), I32_MUL, I32_ADD, ...tee(XA), ...get(IN4), I32_ADD, ...set(XB)];
  return [
    ...i32(0), ...set(T),
    BLOCK, VOID, LOOP, VOID,
    ...get(T), ...i32(2), I32_ADD, ...get(ROWS), I32_GT_S, BR_IF, 1,
    ...setX, ...dotTile(2, outsInTile),
    ...get(T), ...i32(2), I32_ADD, ...set(T), BR, 0,
    END, END,
    ...get(T), ...get(ROWS), I32_LT_S, IF, VOID, ...setX, ...dotTile(1, outsInTile), END,
  ];
}

function body(): number[] {
  const code: number[] = [];
  code.push(...get(IN_DIM), ...i32(4), I32_MUL, ...set(IN4));
  code.push(...get(OUT_DIM), ...i32(4), I32_MUL, ...set(OUT4));
  // for (o = 0; o + 4 <= outDim; o += 4)
  code.push(...i32(0), ...set(O), BLOCK, VOID, LOOP, VOID);
  code.push(...get(O), ...i32(4), I32_ADD, ...get(OUT_DIM), I32_GT_S, BR_IF, 1);
  code.push(...get(W), ...get(O), ...get(IN4), I32_MUL, I32_ADD, ...set(W0));
  code.push(...rowLoop(4));
  code.push(...get(O), ...i32(4), I32_ADD, ...set(O), BR, 0, END, END);
  // for (; o < outDim; o++)
  code.push(BLOCK, VOID, LOOP, VOID);
  code.push(...get(O), ...get(OUT_DIM), I32_LT_S, I32_EQZ, BR_IF, 1);
  code.push(...get(W), ...get(O), ...get(IN4), I32_MUL, I32_ADD, ...set(W0));
  code.push(...rowLoop(1));
  code.push(...get(O), ...i32(1), I32_ADD, ...set(O), BR, 0, END, END);
  return code;
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function name(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

/**
 * Assembles the module.
 * @returns the module's bytes
 */
export function wasmLinearModuleBytes(): Uint8Array {
  const fn = [...uleb(2), ...uleb(NUM_I32_LOCALS), I32, ...uleb(NUM_V128_LOCALS), V128, ...body(), END];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 7, I32, I32, I32, I32, I32, I32, I32, 0]),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x00]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('linear'), 0x00, 0]),
    ...section(10, [1, ...uleb(fn.length), ...fn]),
  ];
  return Uint8Array.from(bytes);
}
