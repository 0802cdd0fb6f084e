// A schema-defined binary encoding (PROTOCOL.md, "Message encoding"). Schemas are values built
// from the constructors below; their TypeScript types are inferred from them. Decoding enforces
// every limit before it allocates, so a hostile message costs at most its own size, and every
// failure is a DecodeError naming the field. Encodings are canonical (one byte string per value):
// varints are minimal, booleans are 0 or 1, so MACs and signatures over them are well defined.

export const MAX_MESSAGE = 256 * 1024;

export type DecodeErrorCode = 'truncated' | 'limit' | 'invalid' | 'trailing' | 'version' | 'unknown-type';

/** The only thing decoding throws. `code` lets a caller tell "newer peer" from "broken peer". */
export class DecodeError extends Error {
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
    readonly field = '',
  ) {
    super(field ? `${field}: ${message}` : message);
    this.name = 'DecodeError';
  }
  /** The same error, with `outer` prepended to its field path. */
  within(outer: string): DecodeError {
    return new DecodeError(this.code, this.field ? this.message.slice(this.field.length + 2) : this.message, joinField(outer, this.field));
  }
}

/** A value that does not fit its schema: a bug on the sending side. */
export class EncodeError extends Error {
  constructor(
    message: string,
    readonly field = '',
  ) {
    super(field ? `${field}: ${message}` : message);
    this.name = 'EncodeError';
  }
  within(outer: string): EncodeError {
    return new EncodeError(this.field ? this.message.slice(this.field.length + 2) : this.message, joinField(outer, this.field));
  }
}

function joinField(outer: string, inner: string): string {
  if (!inner) return outer;
  return inner.startsWith('[') ? `${outer}${inner}` : `${outer}.${inner}`;
}

export class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  take(n: number): Uint8Array {
    if (n > this.remaining) throw new DecodeError('truncated', `needs ${n} bytes, ${this.remaining} left`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  byte(): number {
    if (this.remaining < 1) throw new DecodeError('truncated', 'message ends early');
    return this.buf[this.pos++]!;
  }
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (!(b & 0x80)) {
        if (b === 0 && i > 0) throw new DecodeError('invalid', 'varint is not minimally encoded');
        if (value > Number.MAX_SAFE_INTEGER) throw new DecodeError('limit', 'varint exceeds 2^53 - 1');
        return value;
      }
      scale *= 128;
      if (i >= 7) throw new DecodeError('limit', 'varint exceeds 2^53 - 1');
    }
  }
}

export class Writer {
  pos = 0;
  readonly buf: Uint8Array;
  /** A new buffer of `size` bytes, or into `buf` (a caller's, already sized). */
  constructor(size: number | Uint8Array) {
    this.buf = typeof size === 'number' ? new Uint8Array(size) : size;
  }
  byte(b: number): void {
    this.buf[this.pos++] = b;
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  varint(n: number): void {
    while (n >= 0x80) {
      this.byte((n % 128) | 0x80);
      n = Math.floor(n / 128);
    }
    this.byte(n);
  }
}

export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

const utf8 = new TextEncoder();
// With the u flag, paired surrogates are one code point, so this matches only unpaired ones.
const LONE_SURROGATE = /\p{Cs}/u;
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A field kind. T is the TypeScript value it encodes. */
export abstract class Codec<T> {
  /** Fewest bytes any value takes: bounds list allocations by the bytes actually present. */
  abstract readonly minSize: number;
  /** One line for PROTOCOL.md. */
  abstract describe(): string;
  /** Throws EncodeError when the value does not fit the schema. */
  abstract size(v: T): number;
  abstract write(w: Writer, v: T): void;
  abstract read(r: Reader): T;
}

export type Infer<C> = C extends Codec<infer T> ? T : never;

function checkUint(v: number, max: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new EncodeError(`${what} must be a whole number from 0 to 2^53 - 1, got ${v}`);
  if (v > max) throw new EncodeError(`${what} ${v} exceeds the limit ${max}`);
}

class UintCodec extends Codec<number> {
  readonly minSize = 1;
  constructor(readonly max: number) {
    super();
  }
  describe() {
    return this.max === Number.MAX_SAFE_INTEGER ? 'uint' : `uint (max ${this.max})`;
  }
  size(v: number) {
    checkUint(v, this.max, 'uint');
    return varintSize(v);
  }
  write(w: Writer, v: number) {
    w.varint(v);
  }
  read(r: Reader) {
    const v = r.varint();
    if (v > this.max) throw new DecodeError('limit', `${v} exceeds the limit ${this.max}`);
    return v;
  }
}

const INT_LIMIT = 2 ** 52;
class IntCodec extends Codec<number> {
  readonly minSize = 1;
  describe() {
    return 'int';
  }
  size(v: number) {
    if (!Number.isSafeInteger(v) || v < -INT_LIMIT || v >= INT_LIMIT)
      throw new EncodeError(`int must be a whole number from -2^52 to 2^52 - 1, got ${v}`);
    return varintSize(IntCodec.zig(v));
  }
  static zig(v: number) {
    return v >= 0 ? v * 2 : -v * 2 - 1;
  }
  write(w: Writer, v: number) {
    w.varint(IntCodec.zig(v));
  }
  read(r: Reader) {
    const z = r.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
}

class BoolCodec extends Codec<boolean> {
  readonly minSize = 1;
  describe() {
    return 'bool';
  }
  size(v: boolean) {
    if (typeof v !== 'boolean') throw new EncodeError(`bool expected, got ${typeof v}`);
    return 1;
  }
  write(w: Writer, v: boolean) {
    w.byte(v ? 1 : 0);
  }
  read(r: Reader) {
    const b = r.byte();
    if (b > 1) throw new DecodeError('invalid', `bool must be 0 or 1, got ${b}`);
    return b === 1;
  }
}

class BytesCodec extends Codec<Uint8Array> {
  readonly minSize = 1;
  constructor(readonly max: number) {
    super();
  }
  describe() {
    return `bytes (max ${this.max})`;
  }
  size(v: Uint8Array) {
    if (!(v instanceof Uint8Array)) throw new EncodeError('bytes must be a Uint8Array');
    if (v.length > this.max) throw new EncodeError(`${v.length} bytes exceed the limit ${this.max}`);
    return varintSize(v.length) + v.length;
  }
  write(w: Writer, v: Uint8Array) {
    w.varint(v.length);
    w.bytes(v);
  }
  read(r: Reader) {
    const n = r.varint();
    if (n > this.max) throw new DecodeError('limit', `${n} bytes exceed the limit ${this.max}`);
    return r.take(n);
  }
}

class FixedCodec extends Codec<Uint8Array> {
  constructor(readonly length: number) {
    super();
  }
  get minSize() {
    return this.length;
  }
  describe() {
    return `fixed(${this.length})`;
  }
  size(v: Uint8Array) {
    if (!(v instanceof Uint8Array) || v.length !== this.length)
      throw new EncodeError(`fixed(${this.length}) needs exactly ${this.length} bytes`);
    return this.length;
  }
  write(w: Writer, v: Uint8Array) {
    w.bytes(v);
  }
  read(r: Reader) {
    return r.take(this.length);
  }
}

class StringCodec extends Codec<string> {
  readonly minSize = 1;
  constructor(readonly max: number) {
    super();
  }
  describe() {
    return `string (max ${this.max} bytes)`;
  }
  size(v: string) {
    if (typeof v !== 'string') throw new EncodeError(`string expected, got ${typeof v}`);
    const n = Buffer.byteLength(v, 'utf8');
    if (n > this.max) throw new EncodeError(`string of ${n} bytes exceeds the limit ${this.max}`);
    if (LONE_SURROGATE.test(v)) throw new EncodeError('string holds a lone surrogate: not valid UTF-8');
    return varintSize(n) + n;
  }
  write(w: Writer, v: string) {
    const n = Buffer.byteLength(v, 'utf8');
    w.varint(n);
    utf8.encodeInto(v, w.buf.subarray(w.pos, w.pos + n));
    w.pos += n;
  }
  read(r: Reader) {
    const n = r.varint();
    if (n > this.max) throw new DecodeError('limit', `string of ${n} bytes exceeds the limit ${this.max}`);
    const bytes = r.take(n);
    try {
      return utf8Strict.decode(bytes);
    } catch {
      throw new DecodeError('invalid', 'string is not valid UTF-8');
    }
  }
}

class ListCodec<T> extends Codec<T[]> {
  readonly minSize = 1;
  constructor(
    readonly of: Codec<T>,
    readonly max: number,
  ) {
    super();
    // Keeps "count * minSize <= bytes left" meaningful: no element may be free.
    if (of.minSize < 1) throw new Error('list elements must take at least one byte');
  }
  describe() {
    return `list (max ${this.max}) of ${this.of.describe()}`;
  }
  size(v: T[]) {
    if (!Array.isArray(v)) throw new EncodeError('list must be an array');
    if (v.length > this.max) throw new EncodeError(`list of ${v.length} items exceeds the limit ${this.max}`);
    let n = varintSize(v.length);
    for (let i = 0; i < v.length; i++) {
      try {
        n += this.of.size(v[i]!);
      } catch (e) {
        throw prefixEncode(e, `[${i}]`);
      }
    }
    return n;
  }
  write(w: Writer, v: T[]) {
    w.varint(v.length);
    for (const item of v) this.of.write(w, item);
  }
  read(r: Reader) {
    const n = r.varint();
    if (n > this.max) throw new DecodeError('limit', `list of ${n} items exceeds the limit ${this.max}`);
    if (n * this.of.minSize > r.remaining)
      throw new DecodeError('truncated', `list of ${n} items cannot fit in the ${r.remaining} bytes left`);
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) {
      try {
        out[i] = this.of.read(r);
      } catch (e) {
        throw prefixDecode(e, `[${i}]`);
      }
    }
    return out;
  }
}

class OptionalCodec<T> extends Codec<T | null> {
  readonly minSize = 1;
  constructor(readonly of: Codec<T>) {
    super();
  }
  describe() {
    return `optional ${this.of.describe()}`;
  }
  size(v: T | null) {
    return v === null || v === undefined ? 1 : 1 + this.of.size(v);
  }
  write(w: Writer, v: T | null) {
    if (v === null || v === undefined) w.byte(0);
    else {
      w.byte(1);
      this.of.write(w, v);
    }
  }
  read(r: Reader) {
    const flag = r.byte();
    if (flag === 0) return null;
    if (flag !== 1) throw new DecodeError('invalid', `optional flag must be 0 or 1, got ${flag}`);
    return this.of.read(r);
  }
}

// Codec<unknown> would not do: a codec's encode takes its value type, so Codec<number> is not a Codec<unknown>.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any field codec at all
export type Fields = Record<string, Codec<any>>;
export type StructValue<F extends Fields> = { [K in keyof F]: Infer<F[K]> };

export class StructCodec<F extends Fields> extends Codec<StructValue<F>> {
  readonly minSize: number;
  readonly entries: [string, Codec<unknown>][];
  constructor(
    readonly fields: F,
    readonly name = '',
  ) {
    super();
    this.entries = Object.entries(fields);
    this.minSize = this.entries.reduce((n, [, c]) => n + c.minSize, 0);
  }
  /** A named struct is described by its name; its fields are listed once, by layout(). */
  describe() {
    return this.name || `struct { ${this.layout().join('; ')} }`;
  }
  layout(): string[] {
    return this.entries.map(([k, c]) => `${k}: ${c.describe()}`);
  }
  size(v: StructValue<F>) {
    if (typeof v !== 'object' || v === null) throw new EncodeError('struct must be an object');
    let n = 0;
    for (const [k, c] of this.entries) {
      try {
        n += c.size((v as Record<string, unknown>)[k]);
      } catch (e) {
        throw prefixEncode(e, k);
      }
    }
    return n;
  }
  write(w: Writer, v: StructValue<F>) {
    for (const [k, c] of this.entries) c.write(w, (v as Record<string, unknown>)[k]);
  }
  read(r: Reader) {
    const out: Record<string, unknown> = {};
    for (const [k, c] of this.entries) {
      try {
        out[k] = c.read(r);
      } catch (e) {
        throw prefixDecode(e, k);
      }
    }
    return out as StructValue<F>;
  }
}

/** A wire codec presented as another TypeScript type (device IDs as text, enums as names). */
class MappedCodec<W, T> extends Codec<T> {
  constructor(
    readonly inner: Codec<W>,
    readonly toValue: (w: W) => T,
    readonly toWire: (v: T) => W,
    readonly label: string,
  ) {
    super();
  }
  get minSize() {
    return this.inner.minSize;
  }
  describe() {
    return `${this.label} as ${this.inner.describe()}`;
  }
  private wire(v: T): W {
    try {
      return this.toWire(v);
    } catch (e) {
      throw e instanceof EncodeError ? e : new EncodeError(`${this.label}: ${(e as Error).message}`);
    }
  }
  size(v: T) {
    return this.inner.size(this.wire(v));
  }
  write(w: Writer, v: T) {
    this.inner.write(w, this.wire(v));
  }
  read(r: Reader) {
    const w = this.inner.read(r);
    try {
      return this.toValue(w);
    } catch (e) {
      throw e instanceof DecodeError ? e : new DecodeError('invalid', `not a valid ${this.label}: ${(e as Error).message}`);
    }
  }
}

function prefixDecode(e: unknown, field: string): DecodeError {
  return asDecodeError(e).within(field);
}

function prefixEncode(e: unknown, field: string): unknown {
  return e instanceof EncodeError ? e.within(field) : e;
}

/** Anything but a DecodeError escaping a decoder is our bug; the caller still gets a DecodeError. */
function asDecodeError(e: unknown): DecodeError {
  return e instanceof DecodeError ? e : new DecodeError('invalid', `internal decode failure: ${(e as Error)?.message ?? String(e)}`);
}

export const uint = (max = Number.MAX_SAFE_INTEGER): Codec<number> => new UintCodec(max);
export const int = (): Codec<number> => new IntCodec();
export const bool = (): Codec<boolean> => new BoolCodec();
export const bytes = (max: number): Codec<Uint8Array> => new BytesCodec(max);
export const fixed = (length: number): Codec<Uint8Array> => new FixedCodec(length);
export const string = (maxBytes: number): Codec<string> => new StringCodec(maxBytes);
export const list = <T>(of: Codec<T>, max: number): Codec<T[]> => new ListCodec(of, max);
export const optional = <T>(of: Codec<T>): Codec<T | null> => new OptionalCodec(of);
export const struct = <F extends Fields>(fields: F, name = ''): StructCodec<F> => new StructCodec(fields, name);
export const mapped = <W, T>(inner: Codec<W>, label: string, toValue: (w: W) => T, toWire: (v: T) => W): Codec<T> =>
  new MappedCodec(inner, toValue, toWire, label);

/** Names on the TypeScript side, small numbers on the wire. */
export function enumOf<const M extends Record<string, number>>(label: string, values: M): Codec<keyof M & string> {
  const byNumber = new Map(Object.entries(values).map(([k, v]) => [v, k]));
  const max = Math.max(...Object.values(values));
  const list = Object.entries(values)
    .map(([k, v]) => `${v} = ${k}`)
    .join(', ');
  return mapped(
    uint(max),
    `${label} (${list})`,
    (n) => {
      const k = byNumber.get(n);
      if (k === undefined) throw new DecodeError('invalid', `unknown ${label} ${n}`);
      return k as keyof M & string;
    },
    (k) => {
      const n = values[k];
      if (n === undefined) throw new EncodeError(`unknown ${label} ${String(k)}`);
      return n;
    },
  );
}

export function encode<T>(codec: Codec<T>, value: T): Uint8Array {
  const w = new Writer(codec.size(value));
  codec.write(w, value);
  return w.buf;
}

/** Decodes exactly one value filling all of `buf`. Returned byte fields are views into `buf`. */
export function decode<T>(codec: Codec<T>, buf: Uint8Array): T {
  const r = new Reader(buf);
  let v: T;
  try {
    v = codec.read(r);
  } catch (e) {
    throw asDecodeError(e);
  }
  if (r.remaining) throw new DecodeError('trailing', `${r.remaining} bytes left over after the value`);
  return v;
}

/**
 * Splits items into runs whose encoded sizes sum to at most `budget` bytes and that hold at most
 * `maxItems` each, in order: how a sender fits a long list into several messages.
 * Throws EncodeError for an item that alone exceeds the budget.
 */
export function splitBySize<T>(items: readonly T[], sizeOf: (item: T) => number, budget: number, maxItems: number): T[][] {
  const out: T[][] = [];
  let run: T[] = [];
  let used = 0;
  for (const item of items) {
    const n = sizeOf(item);
    if (n > budget) throw new EncodeError(`one item of ${n} bytes exceeds the budget of ${budget} bytes`);
    if (run.length && (used + n > budget || run.length >= maxItems)) {
      out.push(run);
      run = [];
      used = 0;
    }
    run.push(item);
    used += n;
  }
  if (run.length) out.push(run);
  return out;
}
