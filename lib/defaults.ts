// The module-level settings a program may change at run time (tls.DEFAULT_MIN_VERSION = ...):
// one mutable record, read where each is used, so a change applies to what is made after it.
import type { TLSVersion } from './secure-context';

export const tlsDefaults = {
  minVersion: 'TLSv1.2' as TLSVersion,
  maxVersion: 'TLSv1.3' as TLSVersion,
  /** Client-started renegotiations allowed per CLIENT_RENEG_WINDOW seconds. */
  clientRenegLimit: 3,
  clientRenegWindow: 600,
};

/** The exported names of the settings, as Node spells them. */
export const DEFAULT_NAMES = {
  DEFAULT_MIN_VERSION: 'minVersion',
  DEFAULT_MAX_VERSION: 'maxVersion',
  CLIENT_RENEG_LIMIT: 'clientRenegLimit',
  CLIENT_RENEG_WINDOW: 'clientRenegWindow',
} as const;

/**
 * Makes each setting a plain, writable property of the module's exports that reads and writes
 * the record (Node's are plain data properties too).
 */
export function exposeDefaults(exportsObject: object): void {
  for (const [name, key] of Object.entries(DEFAULT_NAMES)) {
    Object.defineProperty(exportsObject, name, {
      enumerable: true,
      configurable: true,
      get: () => tlsDefaults[key],
      set: (v: never) => {
        tlsDefaults[key] = v;
      },
    });
  }
}
