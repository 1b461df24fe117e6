// Entry point of the node-gnutls command-line tool (bin/node-gnutls.js runs run()).
import * as fs from 'fs';
import * as path from 'path';
import { gnutlsVersion } from '../index';
import { USAGE, UsageError, parseCommandLine } from './args';
import { serve } from './serve';
import { connectCommand } from './connect';
import { connectDtls, serveDtls } from './dtls';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Runs a command line (without node and the script name); resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      const cmd = err.command ? ` ${err.command}` : '';
      process.stderr.write(`node-gnutls${cmd}: ${err.message}\nRun 'node-gnutls${cmd} --help' for usage.\n`);
      return 2;
    }
    process.stderr.write(`node-gnutls: ${(err as Error).message}\n`);
    return 1;
  }
  switch (parsed.command) {
    case 'help': {
      const text = USAGE[parsed.topic];
      if (text === undefined) {
        process.stderr.write(`node-gnutls: unknown command '${parsed.topic}'\n${USAGE['']}`);
        return 2;
      }
      process.stdout.write(text);
      return 0;
    }
    case 'version':
      process.stdout.write(`node-gnutls ${packageVersion()} (GnuTLS ${gnutlsVersion})\n`);
      return 0;
    case 'serve':
      return parsed.args.udp ? serveDtls(parsed.args) : serve(parsed.args);
    case 'connect':
      return parsed.args.udp ? connectDtls(parsed.args) : connectCommand(parsed.args);
  }
}

/** Runs main() on process.argv and exits with its status once stdout and stderr are flushed. */
export function run(argv: string[] = process.argv.slice(2)): void {
  main(argv).then(
    (code) => exitAfterFlush(code),
    (err: unknown) => {
      process.stderr.write(`node-gnutls: ${(err as Error)?.stack ?? String(err)}\n`);
      exitAfterFlush(1);
    },
  );
}

function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

if (require.main === module) run();
