// native/client-host/es-shims: the ES2015+ library functions the thin client's code calls that Duktape 2.7 (an
// ES5.1 engine with typed arrays and TextEncoder/TextDecoder) lacks. Its syntax (classes, arrows, let/const,
// ?., ??) is lowered to ES5 by scripts/build-client.mjs; this file is run first, then the client. Each shim
// is defined only where the engine has none, and covers exactly what the client uses (array-likes, no
// iterables): tests run the client's code paths on the real engine.
/* eslint-disable @typescript-eslint/no-explicit-any -- patching built-in prototypes is untyped by nature */

function define(target: object, name: string, value: unknown): void {
  if (!(name in target)) Object.defineProperty(target, name, { value, writable: true, configurable: true });
}

const g = globalThis as any;
define(Uint8Array, "of", function (...items: number[]): Uint8Array {
  return new Uint8Array(items);
});
define(Uint8Array.prototype, "every", function (this: Uint8Array, f: (v: number, i: number) => boolean): boolean {
  for (let i = 0; i < this.length; i++) if (!f(this[i] as number, i)) return false;
  return true;
});
define(Array.prototype, "find", function (this: unknown[], f: (v: unknown, i: number) => boolean): unknown {
  for (let i = 0; i < this.length; i++) if (f(this[i], i)) return this[i];
  return undefined;
});
define(Array.prototype, "includes", function (this: unknown[], v: unknown): boolean {
  return this.indexOf(v) >= 0;
});
define(Array, "from", function (a: ArrayLike<unknown>, f?: (v: unknown, i: number) => unknown): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < a.length; i++) out.push(f ? f(a[i], i) : a[i]);
  return out;
});
define(String.prototype, "includes", function (this: string, s: string): boolean {
  return this.indexOf(s) >= 0;
});
define(String.prototype, "startsWith", function (this: string, s: string): boolean {
  return this.slice(0, s.length) === s;
});
define(String.prototype, "padStart", function (this: string, n: number, fill = " "): string {
  let r = String(this);
  while (r.length < n) r = fill + r;
  return r.slice(r.length - Math.max(n, this.length));
});
define(Object, "entries", function (o: Record<string, unknown>): [string, unknown][] {
  return Object.keys(o).map((k) => [k, o[k]]);
});
if (g.Set === undefined) {
  /** A Set of primitives (what the client keeps in one): membership by ===. */
  g.Set = function ArraySet(this: { items: unknown[] }, items?: ArrayLike<unknown>) {
    this.items = [];
    if (items !== undefined) for (let i = 0; i < items.length; i++) if (this.items.indexOf(items[i]) < 0) this.items.push(items[i]);
  };
  g.Set.prototype.has = function (this: { items: unknown[] }, v: unknown): boolean {
    return this.items.indexOf(v) >= 0;
  };
}
