import t from "tap";
import { UndoStack } from "./undo-stack.js";

t.test("unwind runs undos newest first and keeps going past a failing one", async (t) => {
  const order: string[] = [];
  const warnings: string[] = [];
  const undo = new UndoStack();
  undo.push("release lease", () => void order.push("lease"));
  undo.push("delete veth", () => {
    order.push("veth");
    throw new Error("ENODEV");
  });
  undo.push("remove address", async () => {
    await Promise.resolve();
    order.push("addr");
  });
  t.equal(undo.size, 3);
  const failures = await undo.unwind({ warn: (m) => warnings.push(m) });
  t.same(order, ["addr", "veth", "lease"]);
  t.same(failures, ["rollback: could not delete veth: ENODEV"]);
  t.same(warnings, failures);
  t.equal(undo.size, 0);
});

t.test("commit forgets the undos", async (t) => {
  let ran = false;
  const undo = new UndoStack();
  undo.push("x", () => {
    ran = true;
  });
  undo.commit();
  t.same(await undo.unwind({ warn: () => undefined }), []);
  t.equal(ran, false);
});
