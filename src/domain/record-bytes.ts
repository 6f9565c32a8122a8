import { Buffer } from 'node:buffer';
import { intern } from '../shared.js';

// The bytes of a packed object (compact.ts), and the string that holds them. V8 keeps a string whose
// characters are all below 256 as one byte per character, so a record written as bytes and read
// back as Latin-1 characters costs its length in bytes plus the string's 16-byte header, and stays a
// string: compared, hashed and collected like any. Each field is written by what it is, not as JSON
// text: a uid as its 16 bytes (36 characters as text), a resourceVersion as a number, an IPv4
// address as 4 bytes, a label value from a small set (a cluster name, a manager, a protocol) as its
// number in one table of such words, an absent field as a bit of a mask.

/** Where records are written: one buffer, grown as needed, copied into the record's string. */
let bytes = Buffer.allocUnsafeSlow(1024);
let at = 0;

function room(n: number): void {
  if (at + n <= bytes.length) return;
  const bigger = Buffer.allocUnsafeSlow(Math.max(bytes.length * 2, at + n));
  bytes.copy(bigger, 0, 0, at);
  bytes = bigger;
}

/** Writes one record with `write` and returns it as a string of its bytes. */
export function record(write: () => void): string {
  at = 0;
  write();
  return bytes.toString('latin1', 0, at);
}

export function writeByte(b: number): void {
  room(1);
  bytes[at++] = b;
}

/** A non-negative integer (up to 2^53), 7 bits a byte (LEB128). */
export function writeUint(n: number): void {
  room(8);
  while (n >= 0x80) {
    bytes[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  bytes[at++] = n;
}

/**
 * The words: values that repeat across the whole cache and come from a small set (cluster names,
 * managers, label flags, protocols, port names, zones, node names, address types), each written as
 * its number in this table. The table only grows, so a field whose values are many and come and go
 * (a name, a hostname, an address) is never written as a word; past MAX_WORDS a word is written
 * as text.
 */
const words: string[] = [];
const wordIds = new Map<string, number>();
const MAX_WORDS = 1 << 16;

/** How a text's head tells its three forms apart (its two low bits). */
const ASCII = 0;
const UTF8 = 1;
const WORD = 2;

/** A string: as a word (`word`) or as its characters. */
export function writeText(s: string, word = false): void {
  if (word) {
    let id = wordIds.get(s);
    if (id === undefined && words.length < MAX_WORDS) {
      id = words.length;
      const kept = intern(s);
      words.push(kept);
      wordIds.set(kept, id);
    }
    if (id !== undefined) return writeUint(id * 4 + WORD);
  }
  let ascii = true;
  for (let i = 0; i < s.length; i++)
    if (s.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii) {
    writeUint(s.length * 4 + ASCII);
    room(s.length);
    at += bytes.write(s, at, 'latin1');
  } else {
    const n = Buffer.byteLength(s, 'utf8');
    writeUint(n * 4 + UTF8);
    room(n);
    at += bytes.write(s, at, n, 'utf8');
  }
}

/** Any JSON value (what the projection does not know: an unprojected object's extra fields), as its JSON text. */
export const writeJson = (value: unknown): void => writeText(JSON.stringify(value));

/** A number: a non-negative integer as itself, any other (never from the API server) as its text. */
export function writeNumber(n: number): void {
  if (Number.isSafeInteger(n) && n >= 0 && n < 2 ** 52) writeUint(n * 2);
  else {
    writeUint(1);
    writeText(String(n));
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A decimal the way etcd's revisions are written: no sign, no leading zero, exact as a number. */
const DECIMAL = /^(0|[1-9][0-9]{0,14})$/;
/** How an identity's first byte tells its forms apart. */
const Id = { Absent: 0, Uuid: 1, Decimal: 2, Text: 3 } as const;

/** '0'-'9', 'a'-'f' (the UUID pattern let no other through) → 0-15. */
const hexDigit = (c: number) => (c <= 0x39 ? c - 0x30 : c - 0x57);

/** A uid or resourceVersion: a lowercase UUID as its 16 bytes, a decimal as a number, anything else as text. */
export function writeIdentity(s: string | undefined): void {
  if (s === undefined) return writeByte(Id.Absent);
  if (s.length === 36 && UUID.test(s)) {
    writeByte(Id.Uuid);
    room(16);
    for (let i = 0; i < 36; i += 2) {
      if (s.charCodeAt(i) === 0x2d) i++; // '-'
      bytes[at++] = hexDigit(s.charCodeAt(i)) * 16 + hexDigit(s.charCodeAt(i + 1));
    }
    return;
  }
  if (DECIMAL.test(s)) {
    writeByte(Id.Decimal);
    return writeUint(Number(s));
  }
  writeByte(Id.Text);
  writeText(s);
}

/** Whether `s` is a dotted IPv4 address written the one way it is read back (no leading zero, each part under 256). */
function isIpv4(s: string): boolean {
  let parts = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i === s.length ? 0x2e : s.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || value > 255 || ++parts > 4) return false;
      digits = 0;
      value = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && value === 0) return false; // a leading zero
      value = value * 10 + (c - 0x30);
      digits++;
    } else return false;
  }
  return parts === 4;
}

/** Endpoint addresses: when each is a dotted IPv4 address, 4 bytes each; otherwise each as text. */
export function writeAddresses(addresses: readonly string[]): void {
  const allV4 = addresses.every(isIpv4);
  writeUint(addresses.length * 2 + (allV4 ? 1 : 0));
  if (!allV4) return addresses.forEach((a) => writeText(a));
  room(4 * addresses.length);
  for (const a of addresses) {
    let value = 0;
    for (let i = 0; i < a.length; i++) {
      const c = a.charCodeAt(i);
      if (c === 0x2e) {
        bytes[at++] = value;
        value = 0;
      } else value = value * 10 + (c - 0x30);
    }
    bytes[at++] = value;
  }
}

/** Reads a record's fields in the order they were written. */
export class RecordReader {
  private at = 0;
  constructor(private readonly s: string) {}

  byte(): number {
    return this.s.charCodeAt(this.at++);
  }

  uint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.s.charCodeAt(this.at++);
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
    }
  }

  text(): string {
    const head = this.uint();
    const form = head % 4;
    const n = Math.floor(head / 4);
    if (form === WORD) return words[n]!;
    const chars = this.s.slice(this.at, this.at + n);
    this.at += n;
    return form === ASCII ? chars : Buffer.from(chars, 'latin1').toString('utf8');
  }

  json(): unknown {
    return JSON.parse(this.text());
  }

  number(): number {
    const n = this.uint();
    return n % 2 === 0 ? n / 2 : Number(this.text());
  }

  identity(): string | undefined {
    switch (this.byte()) {
      case Id.Absent:
        return undefined;
      case Id.Uuid: {
        const codes: number[] = [];
        for (let i = 0; i < 16; i++) {
          if (i === 4 || i === 6 || i === 8 || i === 10) codes.push(0x2d);
          const b = this.byte();
          codes.push(HEX[b >> 4]!, HEX[b & 15]!);
        }
        return String.fromCharCode(...codes);
      }
      case Id.Decimal:
        return String(this.uint());
      default:
        return this.text();
    }
  }

  addresses(): string[] {
    const head = this.uint();
    const n = Math.floor(head / 2);
    const out: string[] = [];
    for (let i = 0; i < n; i++)
      // Joined, not concatenated: one flat string, not a rope of seven.
      out.push(head % 2 === 1 ? [this.byte(), this.byte(), this.byte(), this.byte()].join('.') : this.text());
    return out;
  }
}

/** '0'-'9', 'a'-'f' by value. */
const HEX = [...'0123456789abcdef'].map((c) => c.charCodeAt(0));
