/**
 * The owner's keys beside ours are carried into each new version byte for byte (issue 17): numbers beyond
 * 2^53, `1.50`, escapes and layout, which a JSON.parse/JSON.stringify round trip changes. Found by the
 * simulation's owner-keys invariant (`npm run simulate -- --exotic`).
 */
import { describe, expect, it } from 'vitest';
import { parseSecretValue, replaceMemberValue, withClientSecret } from '../../lib/secret-value.js';

const ENV = '8c7211dc-0000-4000-8000-000000000001';
const RES = '8c7211dc-0000-4000-8000-000000000002';

describe('withClientSecret', () => {
  it('replaces only the clientSecret and keeps every other byte', () => {
    const text =
      `{"environmentId":"${ENV}", "resourceId":"${RES}",\n  "clientSecret" : "old", ` +
      '"accountNumber":12345678901234567890123, "ratio":1.50, "label":"caf\\u00e9", "n":-0.0e+3, ' +
      '"nested":{"clientSecret":"inner","list":[1,{"b":"}]\\""}]}, "z":null}';
    const next = withClientSecret(parseSecretValue(text, 'AWSCURRENT'), 'N3w"Secret\\');
    expect(next).toBe(text.replace('"old"', JSON.stringify('N3w"Secret\\')));
    expect(JSON.parse(next).clientSecret).toBe('N3w"Secret\\');
    expect(JSON.parse(next).nested.clientSecret).toBe('inner');
  });

  it('replaces the member JSON.parse keeps when the key repeats', () => {
    const text = `{"environmentId":"${ENV}","resourceId":"${RES}","clientSecret":"a","clientSecret":"b"}`;
    const next = withClientSecret(parseSecretValue(text, 'AWSCURRENT'), 'c');
    expect(next).toBe(
      `{"environmentId":"${ENV}","resourceId":"${RES}","clientSecret":"a","clientSecret":"c"}`,
    );
    expect(JSON.parse(next).clientSecret).toBe('c');
  });

  it('finds an escaped key as JSON.parse does', () => {
    expect(replaceMemberValue('{"client\\u0053ecret":"x","k":1}', 'clientSecret', '"y"')).toBe(
      '{"client\\u0053ecret":"y","k":1}',
    );
  });

  it('leaves text that is not an object with the member to the caller', () => {
    expect(replaceMemberValue('{"a":1}', 'clientSecret', '"y"')).toBeUndefined();
    expect(replaceMemberValue('[1]', 'clientSecret', '"y"')).toBeUndefined();
    expect(replaceMemberValue('{"clientSecret":', 'clientSecret', '"y"')).toBeUndefined();
  });
});
