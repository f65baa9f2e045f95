import t from "tap";
import { SUPPORTED_CNI_VERSIONS, cniVersionAtLeast, compareVersions, isCniVersion, resultShapeOf } from "./version.js";

t.test("versions", async (t) => {
  t.same([...SUPPORTED_CNI_VERSIONS], ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
  t.ok(isCniVersion("0.3.1"));
  for (const bad of ["1.0", "v1.0.0", "1.2.0", "", 1, undefined, "0.3.1 "]) t.notOk(isCniVersion(bad), String(bad));
  t.equal(compareVersions("0.10.0", "0.9.0"), 1);
  t.equal(compareVersions("1.0.0", "1.0.0"), 0);
  t.equal(compareVersions("0.4.0", "1.0.0"), -1);
  t.ok(cniVersionAtLeast("0.4.0", "0.4.0"));
  t.notOk(cniVersionAtLeast("0.3.1", "0.4.0"));
  t.ok(cniVersionAtLeast("1.1.0", "0.4.0"));
  t.notOk(cniVersionAtLeast("1.0.0", "1.1.0"));
  t.same(SUPPORTED_CNI_VERSIONS.map(resultShapeOf), ["0.2", "0.2", "0.4", "0.4", "0.4", "1.0", "1.1"]);
});
