// test/support/assert-cni: assertions on CniError (tap's t.throws treats a function argument as a class).

import type { Test } from "tap";
import { CniError } from "../../core/cni/errors.js";

/** One assertion: `e` is a CniError with `code` whose message matches `re`; returns it. */
function isCni(t: Test, e: unknown, code: number, re: RegExp, name: string | undefined): CniError | undefined {
  t.ok(e instanceof CniError && e.code === code && re.test(e.message), name ?? `code ${code} ${String(re)}`, {
    got: e instanceof CniError ? { code: e.code, message: e.message } : String(e),
    wanted: { code, re: String(re) },
  });
  return e instanceof CniError ? e : undefined;
}

/** Asserts that fn throws a CniError with `code` whose message matches `re`; returns the error. */
export function throwsCni(t: Test, fn: () => unknown, code: number, re: RegExp, name?: string): CniError | undefined {
  try {
    fn();
  } catch (e) {
    return isCni(t, e, code, re, name);
  }
  t.fail(`${name ?? String(re)}: did not throw`);
  return undefined;
}

/** Asserts that the promise `fn()` returns rejects with a CniError with `code` whose message matches `re`. */
export async function rejectsCni(t: Test, fn: () => unknown, code: number, re: RegExp, name?: string): Promise<CniError | undefined> {
  try {
    await fn();
  } catch (e) {
    return isCni(t, e, code, re, name);
  }
  t.fail(`${name ?? String(re)}: did not reject`);
  return undefined;
}
