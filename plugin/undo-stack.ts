// plugin/undo-stack: ADD's rollback list. Each step that makes something pushes how to unmake it; when a
// later step fails, `unwind` runs the undos newest first, each one guarded, so one failing undo does not
// stop the others (a lease must be released even when deleting the veth failed). Imports nothing.

export interface UndoLog {
  warn(msg: string): void;
}

interface UndoStep {
  readonly what: string;
  readonly undo: () => void | Promise<void>;
}

export class UndoStack {
  #steps: UndoStep[] = [];

  /** Registers how to undo a step that has just succeeded; `what` names the undo ("delete veth ..."). */
  push(what: string, undo: () => void | Promise<void>): void {
    this.#steps.push({ what, undo });
  }

  get size(): number {
    return this.#steps.length;
  }

  /** The steps stay made: forget every undo (called once the whole command succeeded). */
  commit(): void {
    this.#steps = [];
  }

  /** Runs every undo, newest first; never throws. Returns the undos that failed, as messages. */
  async unwind(log: UndoLog): Promise<string[]> {
    const failures: string[] = [];
    while (this.#steps.length > 0) {
      const step = this.#steps.pop() as UndoStep;
      try {
        await step.undo();
      } catch (err) {
        const msg = `rollback: could not ${step.what}: ${err instanceof Error ? err.message : String(err)}`;
        failures.push(msg);
        log.warn(msg);
      }
    }
    return failures;
  }
}
