// plugin/commands/best-effort: how DEL and GC report the errors of steps that all run even when an earlier
// one failed (spec: release everything you can). One policy for both: one error is thrown as it is; several
// become one CniError carrying every message, with the first error's code when it has one (a lock timeout
// stays 11, a bad config 7), else 102 (a kernel operation failed). Pure.

import { CNI_ERROR_CODE, CniError } from "../../core/cni/errors.js";

/** Throws the collected errors as one (see above); returns when there are none. */
export function throwCollected(errors: readonly Error[], prefix = ""): void {
  const first = errors[0];
  if (first === undefined) return;
  if (errors.length === 1) throw first;
  const code = first instanceof CniError ? first.code : CNI_ERROR_CODE.KERNEL_OPERATION_FAILED;
  throw new CniError(code, `${prefix}${errors.map((e) => e.message).join("; ")}`, { cause: first });
}

/** Runs one step of a best-effort command: whatever it throws is added to `errors` (as an Error), never thrown. */
export async function collectError(errors: Error[], step: () => unknown): Promise<void> {
  try {
    await step();
  } catch (err) {
    errors.push(err instanceof Error ? err : new Error(String(err)));
  }
}
