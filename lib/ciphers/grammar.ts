// OpenSSL's cipher-list grammar (ciphers(1)) evaluated over the suite table: the same list of
// TLS 1.2 suites, in the same order, that OpenSSL's SSL_CTX_set_cipher_list would make of a string,
// restricted to the suites GnuTLS has.
import { allSuites, Auth, Enc, Mac, MinTls, Mkey, Strength, Suite } from './suites';

/** What one word (an alias, a suite name, or words joined by '+') selects. */
interface Pattern {
  mkey?: ReadonlySet<Mkey>;
  auth?: ReadonlySet<Auth>;
  enc?: ReadonlySet<Enc>;
  mac?: ReadonlySet<Mac>;
  minTls?: MinTls;
  strength?: ReadonlySet<Strength>;
  notDefault?: boolean;
  /** An explicit suite: selected by code point, its version not part of the pattern. */
  id?: number;
}

const ALL_AUTH: Auth[] = ['aRSA', 'aECDSA', 'aDSS', 'aPSK', 'aNULL'];
const ALL_ENC: Enc[] = [
  'AES128', 'AES256', 'AES128GCM', 'AES256GCM', 'AES128CCM', 'AES256CCM', 'AES128CCM8', 'AES256CCM8',
  'CHACHA20POLY1305', 'CAMELLIA128', 'CAMELLIA256', 'eNULL',
];
const set = <T>(...v: T[]): ReadonlySet<T> => new Set(v);
const but = <T>(all: T[], x: T): ReadonlySet<T> => new Set(all.filter((v) => v !== x));

const AES128: Enc[] = ['AES128', 'AES128GCM', 'AES128CCM', 'AES128CCM8'];
const AES256: Enc[] = ['AES256', 'AES256GCM', 'AES256CCM', 'AES256CCM8'];
const PSK_KX: Mkey[] = ['kPSK', 'kRSAPSK', 'kDHEPSK', 'kECDHEPSK'];

/** OpenSSL's group aliases (the subset that can select a suite of the table). */
const ALIASES: Record<string, Pattern> = {
  ALL: { enc: but(ALL_ENC, 'eNULL') },
  COMPLEMENTOFALL: { enc: set('eNULL') },
  COMPLEMENTOFDEFAULT: { notDefault: true },
  kRSA: { mkey: set('kRSA') },
  kEDH: { mkey: set('kDHE') },
  kDHE: { mkey: set('kDHE') },
  kEECDH: { mkey: set('kECDHE') },
  kECDHE: { mkey: set('kECDHE') },
  kPSK: { mkey: set('kPSK') },
  kRSAPSK: { mkey: set('kRSAPSK') },
  kECDHEPSK: { mkey: set('kECDHEPSK') },
  kDHEPSK: { mkey: set('kDHEPSK') },
  aRSA: { auth: set('aRSA') },
  aDSS: { auth: set('aDSS') },
  DSS: { auth: set('aDSS') },
  aNULL: { auth: set('aNULL') },
  aECDSA: { auth: set('aECDSA') },
  ECDSA: { auth: set('aECDSA') },
  aPSK: { auth: set('aPSK') },
  EDH: { mkey: set('kDHE'), auth: but(ALL_AUTH, 'aNULL') },
  DHE: { mkey: set('kDHE'), auth: but(ALL_AUTH, 'aNULL') },
  DH: { mkey: set('kDHE') },
  EECDH: { mkey: set('kECDHE'), auth: but(ALL_AUTH, 'aNULL') },
  ECDHE: { mkey: set('kECDHE'), auth: but(ALL_AUTH, 'aNULL') },
  ECDH: { mkey: set('kECDHE') },
  NULL: { enc: set('eNULL') },
  eNULL: { enc: set('eNULL') },
  RSA: { mkey: set('kRSA'), auth: set('aRSA') },
  ADH: { mkey: set('kDHE'), auth: set('aNULL') },
  AECDH: { mkey: set('kECDHE'), auth: set('aNULL') },
  PSK: { mkey: set(...PSK_KX) },
  AES128: { enc: set(...AES128) },
  AES256: { enc: set(...AES256) },
  AES: { enc: set(...AES128, ...AES256) },
  AESGCM: { enc: set('AES128GCM', 'AES256GCM') },
  AESCCM: { enc: set('AES128CCM', 'AES256CCM', 'AES128CCM8', 'AES256CCM8') },
  AESCCM8: { enc: set('AES128CCM8', 'AES256CCM8') },
  CAMELLIA128: { enc: set('CAMELLIA128') },
  CAMELLIA256: { enc: set('CAMELLIA256') },
  CAMELLIA: { enc: set('CAMELLIA128', 'CAMELLIA256') },
  CHACHA20: { enc: set('CHACHA20POLY1305') },
  SHA1: { mac: set('SHA1') },
  SHA: { mac: set('SHA1') },
  SHA256: { mac: set('SHA256') },
  SHA384: { mac: set('SHA384') },
  SSLv3: { minTls: 'SSLv3' },
  TLSv1: { minTls: 'TLSv1' },
  'TLSv1.0': { minTls: 'TLSv1' },
  'TLSv1.2': { minTls: 'TLSv1.2' },
  HIGH: { strength: set('HIGH') },
  MEDIUM: { strength: set('MEDIUM') },
  LOW: { strength: set('LOW') },
};

/** OpenSSL's DEFAULT: what a string starting with 'DEFAULT' begins with. */
const DEFAULT_RULES = 'ALL:!COMPLEMENTOFDEFAULT:!eNULL';

/** A grammar error, as OpenSSL reports it (Node turns the reason into ERR_SSL_<REASON>). */
export class CipherListError extends Error {
  constructor(readonly reason: 'invalid command' | 'no cipher match') {
    super(reason);
  }
}

type Rule = 'add' | 'order' | 'delete' | 'kill' | 'bump';

interface Entry {
  suite: Suite;
  active: boolean;
}

function intersect<T>(a: ReadonlySet<T> | undefined, b: ReadonlySet<T> | undefined): ReadonlySet<T> | undefined | null {
  if (!a) return b;
  if (!b) return a;
  const out = new Set([...a].filter((v) => b.has(v)));
  return out.size > 0 ? out : null;
}

/** Joins the patterns of 'A+B': each attribute must allow both; null when none can. */
function combine(a: Pattern, b: Pattern, bIsSuite: boolean): Pattern | null {
  const out: Pattern = { ...a };
  for (const k of ['mkey', 'auth', 'enc', 'mac', 'strength'] as const) {
    const v = intersect<string>(a[k] as ReadonlySet<string> | undefined, b[k] as ReadonlySet<string> | undefined);
    if (v === null) return null;
    (out as Record<string, unknown>)[k] = v;
  }
  if (b.notDefault) out.notDefault = true;
  if (bIsSuite) out.id = b.id;
  else if (b.minTls) {
    if (a.minTls && a.minTls !== b.minTls) return null;
    out.minTls = b.minTls;
  }
  return out;
}

function matches(p: Pattern, s: Suite): boolean {
  if (p.id !== undefined && p.id !== s.id) return false;
  if (p.mkey && !p.mkey.has(s.mkey)) return false;
  if (p.auth && !p.auth.has(s.auth)) return false;
  if (p.enc && !p.enc.has(s.enc)) return false;
  if (p.mac && !p.mac.has(s.mac)) return false;
  if (p.minTls && p.minTls !== s.minTls) return false;
  if (p.strength && !p.strength.has(s.strength)) return false;
  if (p.notDefault && !s.notDefault) return false;
  return true;
}

/** The ordered list of all suites, each active or not, that rules reorder. */
class CipherList {
  private list: Entry[];
  secLevel = 1;

  constructor(suites: readonly Suite[]) {
    this.list = suites.map((suite) => ({ suite, active: false }));
  }

  /** Applies one rule to the suites `select` picks, as OpenSSL's rule application does. */
  apply(rule: Rule, select: (s: Suite) => boolean): void {
    const hits = this.list.filter((e) => select(e.suite));
    if (rule === 'kill') {
      this.list = this.list.filter((e) => !hits.includes(e));
      return;
    }
    if (rule === 'add' || rule === 'order') {
      const moved = hits.filter((e) => (rule === 'add' ? !e.active : e.active));
      for (const e of moved) e.active = true;
      this.list = [...this.list.filter((e) => !moved.includes(e)), ...moved];
      return;
    }
    // delete and bump move to the head, keeping their relative order.
    const moved = hits.filter((e) => e.active);
    if (rule === 'delete') for (const e of moved) e.active = false;
    this.list = [...moved, ...this.list.filter((e) => !moved.includes(e))];
  }

  /** Stable sort of the active suites by strength bits, strongest first. */
  strengthSort(): void {
    const bits = [...new Set(this.list.filter((e) => e.active).map((e) => e.suite.bits))].sort((a, b) => b - a);
    for (const b of bits) this.apply('order', (s) => s.bits === b);
  }

  active(): Suite[] {
    return this.list.filter((e) => e.active).map((e) => e.suite);
  }
}

/** OpenSSL's preference order before any rule: the order DEFAULT and ALL come out in. */
function defaultOrder(l: CipherList): void {
  const aead = (s: Suite): boolean => s.mac === 'AEAD';
  const ephemeral = (s: Suite): boolean => s.mkey === 'kECDHE' || s.mkey === 'kDHE';
  l.apply('add', (s) => s.mkey === 'kECDHE' && s.auth === 'aECDSA');
  l.apply('add', (s) => s.mkey === 'kECDHE');
  l.apply('delete', (s) => s.mkey === 'kECDHE');
  l.apply('add', (s) => s.enc === 'AES128GCM' || s.enc === 'AES256GCM');
  l.apply('add', (s) => s.enc === 'CHACHA20POLY1305');
  l.apply('add', (s) => s.enc.startsWith('AES') && !s.enc.includes('GCM'));
  l.apply('add', () => true);
  l.apply('order', (s) => s.auth === 'aNULL');
  l.apply('order', (s) => s.mkey === 'kRSA');
  l.apply('order', (s) => s.mkey === 'kPSK');
  l.strengthSort();
  l.apply('bump', (s) => s.minTls === 'TLSv1.2');
  l.apply('bump', aead);
  l.apply('bump', ephemeral);
  l.apply('bump', (s) => ephemeral(s) && aead(s));
  l.apply('delete', () => true);
}

const NAME = /^[A-Za-z0-9.=-]+/;
const SEPARATOR = /[:, ;]/;

/** Processes a rule string, changing the list; throws CipherListError('invalid command'). */
function processRules(rules: string, l: CipherList, names: ReadonlyMap<string, Suite>): void {
  let bad = false;
  let i = 0;
  while (i < rules.length) {
    const ch = rules[i];
    if (SEPARATOR.test(ch)) {
      i++;
      continue;
    }
    const prefix = '-+!@'.includes(ch) ? ch : '';
    i += prefix.length;
    const rule: Rule | 'special' =
      prefix === '-' ? 'delete' : prefix === '+' ? 'order' : prefix === '!' ? 'kill' : prefix === '@' ? 'special' : 'add';
    let pattern: Pattern | null = {};
    let last = '';
    for (;;) {
      const m = NAME.exec(rules.slice(i));
      if (!m) {
        bad = true;
        pattern = null;
        i++;
        break;
      }
      last = m[0];
      i += last.length;
      if (rule === 'special') break;
      const multi = rules[i] === '+';
      if (multi) i++;
      const suite = names.get(last);
      const alias = suite ? suiteMatch(suite) : ALIASES[last];
      pattern = pattern && alias ? combine(pattern, alias, suite !== undefined) : null;
      if (!pattern || !multi) break;
    }
    if (rule === 'special') {
      if (last === 'STRENGTH') l.strengthSort();
      else if (/^SECLEVEL=[0-5]$/.test(last)) l.secLevel = Number(last.slice(9));
      else bad = true;
    } else if (pattern) {
      const p = pattern;
      l.apply(rule, (s) => matches(p, s));
    }
    // The rest of a word that matched nothing, or of an '@' command, is skipped to the next
    // separator; after a word that matched, the next item may follow without one.
    if (rule === 'special' || !pattern) while (i < rules.length && !SEPARATOR.test(rules[i])) i++;
  }
  if (bad) throw new CipherListError('invalid command');
}

/** The pattern an explicit suite name stands for. */
function suiteMatch(s: Suite): Pattern {
  return { id: s.id, mkey: set(s.mkey), auth: set(s.auth), enc: set(s.enc), mac: set(s.mac), strength: set(s.strength) };
}

export interface CipherListResult {
  /** The suites, in preference order, before the security level is applied. */
  suites: Suite[];
  /** The security level the string set (OpenSSL's default, 1, unless '@SECLEVEL=n'). */
  secLevel: number;
}

/** Evaluates an OpenSSL cipher string (TLS 1.2 and below) as SSL_CTX_set_cipher_list would. */
export function evaluateCipherList(rules: string): CipherListResult {
  if (/^SUITEB/.test(rules)) throw new Error(`The Suite B cipher strings (${rules.split(':')[0]}) are not supported by node-gnutls`);
  const suites = allSuites();
  const names = new Map(suites.map((s) => [s.opensslName, s]));
  const l = new CipherList(suites);
  defaultOrder(l);
  let rest = rules;
  if (rest.startsWith('DEFAULT')) {
    processRules(DEFAULT_RULES, l, names);
    rest = rest.slice(7).replace(/^:/, '');
  }
  processRules(rest, l, names);
  return { suites: l.active(), secLevel: l.secLevel };
}

/** OpenSSL's minimum security bits per level. */
const LEVEL_BITS = [0, 80, 112, 128, 192, 256];

/** Whether OpenSSL's default security callback allows a suite at a level. */
export function allowedAtLevel(s: Suite, level: number): boolean {
  if (level <= 0) return true;
  const minBits = LEVEL_BITS[Math.min(level, 5)];
  if (s.bits < minBits) return false;
  if (s.auth === 'aNULL') return false;
  if (minBits > 160 && s.mac === 'SHA1') return false;
  if (level >= 3 && s.mkey !== 'kECDHE' && s.mkey !== 'kDHE') return false;
  return true;
}
