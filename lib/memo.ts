// A bounded memo for pure functions of certificate text: the same `cert`/`ca` inputs are parsed
// again for every context made from them (a client that passes its options to every connect()
// makes one context per connection), the same peer certificate at every handshake with that peer,
// and parsing is most of what these cost in JS.
// Only public material goes in (certificates, never keys); entries are immutable, the oldest
// unused one is dropped beyond `limit`.
export class Memo<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly limit: number) {}

  get(key: string, make: () => V): V {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key); // most recently used last
      this.entries.set(key, hit);
      return hit;
    }
    const value = make();
    this.entries.set(key, value);
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value as string);
    return value;
  }
}
