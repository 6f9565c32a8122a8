import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordReader, record, writeAddresses, writeIdentity, writeNumber, writeText, writeUint } from './record-bytes.js';

/** Writes with `write`, then reads the record back with `read`. */
const roundTrip = <T>(write: () => void, read: (r: RecordReader) => T): T => read(new RecordReader(record(write)));

describe("a record's bytes read back as they were written (record-bytes.ts)", () => {
  it('a non-negative integer up to 2^53, in as many bytes as its 7-bit groups', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        expect(
          roundTrip(
            () => writeUint(n),
            (r) => r.uint(),
          ),
        ).toBe(n);
      }),
    );
    expect(record(() => writeUint(127)).length).toBe(1);
    expect(record(() => writeUint(128)).length).toBe(2);
  });

  it('any number, an integer or not', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })), (n) => {
        expect(
          roundTrip(
            () => writeNumber(n),
            (r) => r.number(),
          ),
        ).toBe(n === 0 ? 0 : n);
      }),
    );
  });

  it('any string, as characters or as a word, one record holding several', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ unit: 'binary' }), fc.boolean()), { maxLength: 5 }), (texts) => {
        const back = roundTrip(
          () => texts.forEach(([s, word]) => writeText(s, word)),
          (r) => texts.map(() => r.text()),
        );
        expect(back).toEqual(texts.map(([s]) => s));
      }),
    );
  });

  it('a word is written as its number: a cluster name costs two bytes at most, however long', () => {
    const word = 'a-rather-long-cluster-name';
    expect(
      roundTrip(
        () => writeText(word, true),
        (r) => r.text(),
      ),
    ).toBe(word);
    // Its number in the table (this process's other tests add words of their own): under 2^14, two bytes.
    expect(record(() => writeText(word, true)).length).toBeLessThanOrEqual(2);
    expect(record(() => writeText(word)).length).toBe(word.length + 1);
  });

  it('a uid or resourceVersion of any form; a UUID in 17 bytes, a revision as a number', () => {
    fc.assert(
      fc.property(fc.option(fc.oneof(fc.uuid(), fc.nat().map(String), fc.string({ unit: 'binary' })), { nil: undefined }), (id) => {
        expect(
          roundTrip(
            () => writeIdentity(id),
            (r) => r.identity(),
          ),
        ).toBe(id);
      }),
    );
    expect(record(() => writeIdentity('0b3d2a9e-5f44-4c1e-9a5b-7d2c1e0f9a88')).length).toBe(17);
    expect(record(() => writeIdentity('31002')).length).toBe(4);
    // Not the one way it is read back: kept as written.
    for (const id of ['0B3D2A9E-5F44-4C1E-9A5B-7D2C1E0F9A88', '007', '1e3', '-1'])
      expect(
        roundTrip(
          () => writeIdentity(id),
          (r) => r.identity(),
        ),
      ).toBe(id);
  });

  it('endpoint addresses: IPv4 in 4 bytes each, anything else (IPv6, FQDN, not canonical) as written', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), fc.string()), { minLength: 1, maxLength: 4 }), (addresses) => {
        expect(
          roundTrip(
            () => writeAddresses(addresses),
            (r) => r.addresses(),
          ),
        ).toEqual(addresses);
      }),
    );
    expect(record(() => writeAddresses(['10.40.19.187', '10.40.19.188'])).length).toBe(9);
    for (const a of ['010.1.1.1', '1.2.3', '256.1.1.1', '1.2.3.4.5', ' 1.2.3.4'])
      expect(
        roundTrip(
          () => writeAddresses([a]),
          (r) => r.addresses(),
        ),
      ).toEqual([a]);
  });
});
