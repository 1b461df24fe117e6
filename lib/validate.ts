// Argument errors as Node's own: ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE TypeErrors and
// ERR_OUT_OF_RANGE RangeErrors, with Node's wording, and the checks built on them.
import { inspect } from 'util';

type ErrorBase = TypeErrorConstructor | RangeErrorConstructor | ErrorConstructor;
const classes = new Map<ErrorBase, ErrorBase>();

/**
 * The class of Node's coded errors on `Base`: its instances are `Base`s (name 'TypeError', ...),
 * `code` is an own property and both the stack's first line and String(err) read
 * `TypeError [CODE]: message`.
 */
function codedClass(Base: ErrorBase): ErrorBase {
  let cls = classes.get(Base);
  if (!cls) {
    const c = class extends (Base as ErrorConstructor) {
      toString(): string {
        return `${this.name} [${(this as { code?: string }).code}]: ${this.message}`;
      }
    };
    Object.defineProperty(c, 'name', { value: Base.name });
    // As on Node's own errors, `constructor` reads as the standard class (util.inspect() shows it).
    Object.defineProperty(c.prototype, 'constructor', { get: () => Base, configurable: true });
    classes.set(Base, (cls = c as unknown as ErrorBase));
  }
  return cls;
}

/** A Node-style coded error: `new Base(message)` with `code`, its stack headed `Name [code]: `. */
export function codedError<T extends Error>(Base: new (m?: string) => T, code: string, message: string): T & { code: string } {
  const Cls = codedClass(Base as unknown as ErrorBase);
  const err = new Cls(message) as unknown as T & { code: string };
  codeInStack(err, code);
  err.code = code;
  return err;
}

/**
 * Heads the stack of a coded error `Name [code]: message`, as Node's own formatting does; an
 * application's Error.prepareStackTrace (source-map-support, jest) formats it instead, as it does
 * Node's errors. Node installs its own as `ErrorPrepareStackTrace`.
 */
export function codeInStack(err: Error, code: string): void {
  const prepare = Error.prepareStackTrace as ((...a: unknown[]) => unknown) | undefined;
  if (typeof prepare === 'function' && prepare.name !== 'ErrorPrepareStackTrace') return;
  // The stack's header is formatted from `name` when first read.
  Object.defineProperty(err, 'name', { value: `${err.name} [${code}]`, configurable: true, writable: true, enumerable: false });
  void err.stack;
  delete (err as { name?: string }).name;
}

const PRIMITIVE = new Set(['string', 'number', 'bigint', 'boolean', 'symbol', 'undefined', 'function', 'object']);

/** "of type string or an instance of Buffer, TypedArray, or DataView", as Node words expectations. */
function expectation(expected: readonly string[]): string {
  const types = expected.filter((e) => PRIMITIVE.has(e));
  const instances = expected.filter((e) => !PRIMITIVE.has(e));
  const orList = (xs: string[]): string => (xs.length > 2 ? `${xs.slice(0, -1).join(', ')}, or ${xs[xs.length - 1]}` : xs.join(' or '));
  const parts: string[] = [];
  if (types.length > 0) parts.push(`${types.length > 2 ? 'one of type' : 'of type'} ${orList(types)}`);
  if (instances.length > 0) parts.push(`an instance of ${orList(instances)}`);
  return parts.join(' or ');
}

/** What Node says it received: "type number (1)", "an instance of Object", "undefined", ... */
export function received(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return `function ${(v as { name?: string }).name ?? ''}`;
  if (typeof v === 'object') {
    const name = (v as { constructor?: { name?: string } }).constructor?.name;
    return name ? `an instance of ${name}` : inspect(v, { depth: -1 });
  }
  let shown = inspect(v, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof v} (${shown})`;
}

/** The subject of a message: `The "x" argument` or, for a dotted name, `The "a.b" property`. */
function subject(name: string): string {
  if (name.endsWith(' argument')) return `The ${name}`;
  return `The "${name}" ${name.includes('.') ? 'property' : 'argument'}`;
}

export function invalidArgType(name: string, expected: string | readonly string[], actual: unknown): TypeError & { code: string } {
  const list = typeof expected === 'string' ? [expected] : expected;
  return codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `${subject(name)} must be ${expectation(list)}. Received ${received(actual)}`);
}

export function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): TypeError & { code: string } {
  let shown = inspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  const kind = name.includes('.') ? 'property' : 'argument';
  return codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `The ${kind} '${name}' ${reason}. Received ${shown}`);
}

/** Node's numeric form in ERR_OUT_OF_RANGE: integers past 2^32 get `_` separators. */
function shownNumber(n: unknown): string {
  if (typeof n === 'number' && Number.isInteger(n) && Math.abs(n) > 2 ** 32) {
    const s = String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, '_');
    return n < 0 ? `-${s}` : s;
  }
  return inspect(n);
}

export function outOfRange(name: string, range: string, value: unknown): RangeError & { code: string } {
  return codedError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${shownNumber(value)}`);
}

// ---- checks -------------------------------------------------------------------------------------

export const BUFFER_LIKE = ['Buffer', 'TypedArray', 'DataView'] as const;

export function validateString(v: unknown, name: string): asserts v is string {
  if (typeof v !== 'string') throw invalidArgType(name, 'string', v);
}

export function validateNumber(v: unknown, name: string): asserts v is number {
  if (typeof v !== 'number') throw invalidArgType(name, 'number', v);
}

export function validateFunction(v: unknown, name: string): asserts v is (...a: unknown[]) => unknown {
  if (typeof v !== 'function') throw invalidArgType(name, 'function', v);
}

/** Node's validateObject: a non-null, non-array object. */
export function validateObject(v: unknown, name: string): asserts v is object {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalidArgType(name, 'object', v);
}

export function validateBufferLike(v: unknown, name: string): asserts v is NodeJS.ArrayBufferView {
  if (!ArrayBuffer.isView(v)) throw invalidArgType(name, BUFFER_LIKE, v);
}

/** An integer in [min, max] (Node's validateInteger / validateUint32 wording). */
export function validateInteger(v: unknown, name: string, min: number, max: number): asserts v is number {
  validateNumber(v, name);
  if (!Number.isInteger(v)) throw outOfRange(name, 'an integer', v);
  if (v < min || v > max) throw outOfRange(name, `>= ${min} && <= ${max}`, v);
}

/** The checks Node's tls.Server makes of its options before anything else (null: no options). */
export function validateServerOptions(options: unknown): void {
  if (options === undefined || options === null || typeof options === 'function') return;
  validateObject(options, 'options');
  const o = options as { handshakeTimeout?: unknown; ticketKeys?: unknown };
  if (o.handshakeTimeout !== undefined) validateNumber(o.handshakeTimeout, 'options.handshakeTimeout');
  if (o.ticketKeys != null) {
    validateBufferLike(o.ticketKeys, 'options.ticketKeys');
    if (o.ticketKeys.byteLength !== 48) throw invalidArgValue('options.ticketKeys', o.ticketKeys.byteLength, 'must be exactly 48 bytes');
  }
}

/** A coded error as Node's C++ layer throws them: `code` set, stack and String() without it. */
export function nativeCodedError<T extends Error>(Base: new (m?: string) => T, code: string, message: string): T & { code: string } {
  return Object.assign(new Base(message), { code });
}
