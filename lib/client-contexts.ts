// The contexts connect() makes from its options, shared between connections whose options read
// the same: a client that passes the same options to every connect() would otherwise build and
// keep one context per connection, and one without `ca` would load the whole system trust store
// each time (10 ms and 3.7 MiB per context measured; Node's root store is loaded once). A context
// is reused only when every option its construction read was a primitive (a string, number,
// boolean, null or undefined) and reads the same now, under the same module defaults. `ca`, the
// one public Buffer option, may also be Buffers (or an array of Buffers and strings): compared by
// content with a copy kept here. Anything else (a key, a callback, an object; enumerating the
// options) makes a context of its own. Nothing mutates a context connect() made, so sharing one
// is not observable.
import { tlsDefaults } from './defaults';
import { SecureContext, SecureContextOptions, createSecureContext } from './secure-context';

interface Made {
  reads: Array<[string, unknown]>;
  defaults: string;
  ctx: WeakRef<SecureContext>;
}

const LIMIT = 16;
const made: Made[] = [];
const defaultsNow = (): string => `${tlsDefaults.minVersion}\0${tlsDefaults.maxVersion}`;

const bytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

/** What is kept of a read option to compare later: the value, a copy of `ca`'s bytes, or null (not comparable). */
function kept(key: string, v: unknown): { v: unknown } | null {
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return { v };
  if (key !== 'ca') return null;
  if (bytes(v)) return { v: Buffer.from(v) };
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || bytes(x))) return { v: v.map((x) => (bytes(x) ? Buffer.from(x) : x)) };
  return null;
}

function same(was: unknown, now: unknown): boolean {
  if (bytes(was)) return bytes(now) && Buffer.compare(was, now) === 0;
  if (Array.isArray(was)) return Array.isArray(now) && now.length === was.length && was.every((w, i) => same(w, now[i]));
  return was === now;
}

/** A context for `options`: one made before from options that read the same, or a new one. */
export function clientContext(options: SecureContextOptions): SecureContext {
  const defaults = defaultsNow();
  const opts = options as Record<string, unknown>;
  for (let i = made.length - 1; i >= 0; i--) {
    const m = made[i];
    const ctx = m.ctx.deref();
    if (!ctx) made.splice(i, 1);
    else if (m.defaults === defaults && m.reads.every(([k, v]) => same(v, opts[k]))) return ctx;
  }
  const reads: Array<[string, unknown]> = [];
  let primitive = true;
  const watched = new Proxy(opts, {
    get(target, key, receiver) {
      const v: unknown = Reflect.get(target, key, receiver);
      const k = typeof key === 'string' ? kept(key, v) : null;
      if (k) reads.push([key as string, k.v]);
      else primitive = false;
      return v;
    },
    has(target, key) {
      primitive = false;
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      primitive = false;
      return Reflect.ownKeys(target);
    },
    getOwnPropertyDescriptor(target, key) {
      primitive = false;
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
  });
  const ctx = createSecureContext(watched as SecureContextOptions);
  if (primitive) {
    if (made.length >= LIMIT) made.shift();
    made.push({ reads, defaults, ctx: new WeakRef(ctx) });
  }
  return ctx;
}
