import { randomUUID } from 'node:crypto';

/**
 * A version 7 UUID (RFC 9562): its first 48 bits are the Unix time in milliseconds, its other
 * 74 variable bits random. Event ids and the request ids the gateway makes up are these.
 *
 * Both are keys of indexes written on every change: the SQLite store's unique `events.id`, the
 * audit history's entries by event id and by request id. Ids in time order are added at the
 * end of such an index, on the page the previous id went to; random (version 4) ids land on a
 * page of their own each, anywhere in the index, which is one more page to find, dirty and
 * write per change and index, and the larger the index, the less likely that page is still
 * in memory. EventStoreDB takes any UUID as an event id.
 */
export function timeOrderedUuid(now: number = Date.now()): string {
  const millis = Math.max(0, Math.floor(now));
  // Every request without an x-request-id makes one: the time part is formatted once per millisecond.
  if (millis !== prefixMillis) {
    const time = millis.toString(16).padStart(12, '0').slice(-12);
    prefix = `${time.slice(0, 8)}-${time.slice(8, 12)}-7`;
    prefixMillis = millis;
  }
  // randomUUID() is xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx (V the variant): its first 12 hex digits give way to the time, its version to 7.
  return prefix + randomUUID().slice(15);
}

let prefixMillis = -1;
let prefix = '';
