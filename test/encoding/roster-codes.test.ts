import { describe, expect, it } from 'vitest';
import { askCode, askFromCode, isRosterContact, subscriptionCode, subscriptionFromCode } from '../../src/encoding/roster-codes.js';
import type { Ask, Subscription } from '../../src/records.js';

const SUBSCRIPTIONS: Array<[Subscription, string]> = [
  ['both', 'B'],
  ['to', 'T'],
  ['from', 'F'],
  ['none', 'N'],
];
const ASKS: Array<[Ask, string]> = [
  ['out', 'O'],
  ['in', 'I'],
  ['both', 'B'],
  ['none', 'N'],
];

describe('subscription codes', () => {
  it.each(SUBSCRIPTIONS)('writes %s as %s', (subscription, code) => {
    expect(subscriptionCode(subscription)).toBe(code);
  });
  it.each(SUBSCRIPTIONS)('reads %s back from %s', (subscription, code) => {
    expect(subscriptionFromCode(code)).toBe(subscription);
  });
  it.each([['b'], ['S'], [''], ['BB'], ['toString']])('rejects the code %j', (code) => {
    expect(() => subscriptionFromCode(code)).toThrow(expect.objectContaining({ code: 'roster-code' }));
  });
});

describe('ask codes', () => {
  it.each(ASKS)('writes %s as %s', (ask, code) => {
    expect(askCode(ask)).toBe(code);
  });
  it.each([...ASKS, ['out', 'S'], ['none', 'U']] as Array<[Ask, string]>)('reads %s back from %s', (ask, code) => {
    expect(askFromCode(code)).toBe(ask);
  });
  it.each([['o'], ['T'], [''], ['constructor']])('rejects the code %j', (code) => {
    expect(() => askFromCode(code)).toThrow(expect.objectContaining({ code: 'roster-code' }));
  });
});

describe('isRosterContact', () => {
  const ROWS: Array<[Subscription, Ask, boolean]> = [
    ['none', 'in', false],
    ['none', 'none', true],
    ['none', 'out', true],
    ['none', 'both', true],
    ['to', 'in', true],
    ['from', 'none', true],
    ['both', 'none', true],
  ];
  it.each(ROWS)('%s + %s is shown: %s', (subscription, ask, shown) => {
    expect(isRosterContact(subscription, ask)).toBe(shown);
  });
});
