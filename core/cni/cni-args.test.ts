import t from "tap";
import { throwsCni } from "../../test/support/assert-cni.js";
import { checkCniArgKeys, parseCniArgs } from "./cni-args.js";


t.test("parses K=V pairs", async (t) => {
  t.same([...parseCniArgs(undefined)], []);
  t.same([...parseCniArgs("")], []);
  const m = parseCniArgs("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;IP=10.1.2.9");
  t.equal(m.get("K8S_POD_NAME"), "web-0");
  t.equal(m.get("IP"), "10.1.2.9");
  t.equal(parseCniArgs("A=;B=2").get("A"), "", "empty value is a value");
  t.equal(parseCniArgs("A=1;A=2").get("A"), "2", "later wins");
});

t.test("malformed pairs are code 4, quoting the pair", async (t) => {
  const bad: [string, RegExp][] = [
    ["IP", /invalid pair "IP"/],
    ["IP=1=2", /invalid pair "IP=1=2"/],
    ["A=1;", /invalid pair ""/],
    [";A=1", /invalid pair ""/],
    ["=1", /invalid pair "=1"/],
    ["A=1;;B=2", /invalid pair ""/],
    ["IgnoreUnknown=yes", /IgnoreUnknown="yes" is not a boolean/],
  ];
  for (const [text, re] of bad) throwsCni(t, () => parseCniArgs(text), 4, re, text);
});

t.test("unknown keys need IgnoreUnknown", async (t) => {
  throwsCni(t, () => checkCniArgKeys(parseCniArgs("FOO=1;IP=10.0.0.1"), ["IP"]), 4, /unknown keys "FOO"/);
  t.doesNotThrow(() => checkCniArgKeys(parseCniArgs("IgnoreUnknown=1;FOO=1"), ["IP"]));
  t.doesNotThrow(() => checkCniArgKeys(parseCniArgs("IgnoreUnknown=TRUE;FOO=1"), []));
  throwsCni(t, () => checkCniArgKeys(parseCniArgs("IgnoreUnknown=0;FOO=1"), []), 4, /FOO/);
  t.doesNotThrow(() => checkCniArgKeys(parseCniArgs("K8S_POD_NAME=a;K8S_POD_NAMESPACE=b;K8S_POD_UID=c;K8S_POD_INFRA_CONTAINER_ID=d"), []));
});
