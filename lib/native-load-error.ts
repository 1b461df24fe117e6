// What to tell a user whose machine cannot load the addon: the loader's error says which file is
// missing, this says which package provides it. Used by lib/native.ts only.

const SOURCE_BUILD =
  'or build the addon from source: install libgnutls28-dev, g++, make and python3 ' +
  '(Debian/Ubuntu: apt-get install libgnutls28-dev g++ make python3), then run `npm rebuild node-gnutls`';

/**
 * The error to throw when loading the addon failed, or the original error when there is nothing to
 * add. `file` is the addon that was being loaded (undefined when none was found).
 */
export function addonLoadError(err: unknown, file: string | undefined): unknown {
  if (!(err instanceof Error)) return err;
  const what = file ? `the node-gnutls addon ${file}` : 'the node-gnutls addon';
  let message: string | undefined;
  const missing = /(libgnutls[^\s:]*\.so[^\s:]*): cannot open shared object file/.exec(err.message);
  if (missing) {
    message =
      `${what} links the system GnuTLS library (${missing[1]}), which is not installed. ` +
      `Install the GnuTLS runtime (Debian/Ubuntu: apt-get install libgnutls30), ${SOURCE_BUILD}.`;
  } else if (/version `GNUTLS_[^']*' not found/.test(err.message)) {
    message =
      `${what} needs a newer GnuTLS than the one installed. ` +
      `Upgrade it (Debian/Ubuntu: apt-get install libgnutls30), ${SOURCE_BUILD}.`;
  } else if (/^No native build was found/.test(err.message)) {
    message =
      `there is no prebuilt node-gnutls addon for this platform and no local build (prebuilds exist for linux-x64 ` +
      `with glibc). Build it from source: install libgnutls28-dev, g++, make and python3 ` +
      `(Debian/Ubuntu: apt-get install libgnutls28-dev g++ make python3), then run \`npm rebuild node-gnutls\`.`;
  }
  if (message === undefined) return err;
  const out = new Error(`node-gnutls: ${message}\n  (${err.message.trim()})`, { cause: err });
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined) (out as NodeJS.ErrnoException).code = code;
  return out;
}
