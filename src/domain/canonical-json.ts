/**
 * JSON with object keys sorted at every level, so that equal values always read the same: what
 * the audit chain hashes, and how two token metas are compared.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sorted(value));
}

/*
 * Every entry of the log goes through here. Entries are built with their keys in order, so
 * instead of copying every object, `sorted` returns an object as it is when its keys are
 * already in code-unit order (JSON.stringify then writes them in that order), and copies
 * only what is out of order. A copy has no prototype, so a `__proto__` key stays an ordinary
 * key, as `Object.fromEntries` keeps it; an object of any other class is always copied, so
 * no `toJSON` of a class is called.
 */
function sorted(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const sortedItem = sorted(item);
      if (sortedItem !== item) {
        copy ??= value.slice();
        copy[i] = sortedItem;
      }
    }
    return copy ?? value;
  }
  const keys = Object.keys(value);
  const record = value as Record<string, unknown>;
  const prototype: unknown = Object.getPrototypeOf(value);
  let inOrder = prototype === Object.prototype || prototype === null;
  for (let i = 1; inOrder && i < keys.length; i++) inOrder = keys[i - 1]! < keys[i]!;
  if (!inOrder) {
    const copy: Record<string, unknown> = Object.create(null);
    for (const key of keys.sort()) copy[key] = sorted(record[key]);
    return copy;
  }
  let copy: Record<string, unknown> | null = null;
  for (const key of keys) {
    const member = record[key];
    const sortedMember = sorted(member);
    if (sortedMember === member) continue;
    if (copy === null) {
      copy = Object.create(null) as Record<string, unknown>;
      for (const each of keys) copy[each] = record[each];
    }
    copy[key] = sortedMember;
  }
  return copy ?? value;
}
